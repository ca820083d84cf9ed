"""All that is specific to ICD-10-CM: its code syntax (codes.py), the release loader (loaders/), the
release files (store/), the documentation guidance (guidance/), and the provider that answers for it in
the engine's chain (provider.py, over operations.py)."""
