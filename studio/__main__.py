from studio.cli.main import entry

entry()
