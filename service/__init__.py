"""The ICD-10-CM terminology service."""

from pathlib import Path

# The project folder: codesystems/, valuesets/ and guidance/ are reviewed data files beside service/.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
