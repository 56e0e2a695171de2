"""Loading what writers and designers edit: content files (through Flask-FlatPages), front
matter checked into typed records, snippets, markdown, the records kept between builds, and
each tenant's catalog."""
