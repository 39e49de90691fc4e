"""One spider per source kind; the file's name is the spider's ``name`` and the kind."""
