"""The static renderer: a Flask app per tenant that Frozen-Flask freezes into plain files."""
