import sys

from studio.cli import entry

entry()
