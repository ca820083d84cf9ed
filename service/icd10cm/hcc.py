"""The CMS risk adjustment models this server reports, as $lookup properties and $expand filters (the
mappings themselves are read into the store at load time: loaders/hcc.py)."""

from __future__ import annotations

YEARS = (2025, 2026, 2027)  # the payment years whose mappings are loaded

# The files' model name -> (our property code, the label and hierarchy files' domain and version).
MODELS = {
    "CMS-HCC Model V28": ("hcc-v28", "CMS-HCC", "V28"),
    "CMS-HCC Model V24": ("hcc-v24", "CMS-HCC", "V24"),
    "CMS-HCC Model V22": ("hcc-v22", "CMS-HCC", "V22"),
    "CMS-HCC ESRD Model V24": ("hcc-esrd-v24", "ESRD", "V24"),
    "CMS-HCC ESRD Model V21": ("hcc-esrd-v21", "ESRD", "V21"),
    "RxHCC Model V08": ("rxhcc-v08", "RxHCC", "R08"),
}
PROPERTIES = tuple(code for code, _, _ in MODELS.values())
# The model of the payment years 2026 and 2027 (CMS-HCC V28, alone since 2026): $lookup gives it unasked; the
# others when asked for by name (or property=*).
CURRENT_MODEL = "hcc-v28"
MODEL_NAMES = {code: name for name, (code, _, _) in MODELS.items()}
NO_CATEGORY = f"maps to no category of this model in payment years {YEARS[0]}-{YEARS[-1]}"
