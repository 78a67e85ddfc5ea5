import sys

from studio.cli.main import entry

entry()
