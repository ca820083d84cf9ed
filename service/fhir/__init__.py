"""The ground floor: FHIR forms every answer uses (Parameters entries, the one issue shape, the one
message table, XML reading and writing). It imports nothing of ours but the error hierarchy;
everything else may import it."""
