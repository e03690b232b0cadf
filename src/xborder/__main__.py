"""`python -m xborder` runs the command line."""

from xborder.cli import main

if __name__ == "__main__":
    main()
