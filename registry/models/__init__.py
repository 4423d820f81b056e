"""Model directories: the ``MLmodel`` document, signatures and their enforcement, saving and reading model
folders, registering them, and resolving ``models:/`` URIs to verified local folders."""
