"""Enterprise and institution workspaces: my listings, forms and bulk import."""
