"""The engine: one chain of providers (chain.py) that answers every terminology operation, and the
in-memory engine (engine.py) that holds FHIR CodeSystems, ValueSets and ConceptMaps from files and
requests and writes value set compose, expansion and membership once, over the code systems its
providers lend it. Upstream servers are the chain's last provider (forward.py)."""
