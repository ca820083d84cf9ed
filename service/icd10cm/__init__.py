"""What is specific to ICD-10-CM: its code syntax and canonical names (the loader, store, guidance and
the provider that answers for it move here as the one engine takes shape, issue 15)."""
