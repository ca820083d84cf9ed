"""The ground floor: FHIR forms every answer uses (Parameters entries, XML reading and writing). It imports
nothing of ours but the error hierarchy and the sized LRU; everything else may import it."""
