"""Issue and message texts of the general engine, keyed by the message ids the HL7 terminology
ecosystem uses, so that peers and validators can recognise what each issue is about."""

from __future__ import annotations

MESSAGES = {
    "ABSTRACT_CODE_NOT_ALLOWED": "The code '{0}#{1}' is abstract (not selectable), so it is not allowed here",
    "CODE_CASE_DIFFERENCE": "The code '{0}' differs from the code '{1}' only by case; the code system '{2}' is "
                            "case-insensitive, but the correct case should be used",
    "CODESYSTEM_CS_NO_SUPPLEMENT": "CodeSystem {0} is a supplement, so it cannot be used as Coding.system",
    "CONCEPT_DEPRECATED_IN_VALUESET": "The concept '{1}' of {0} is deprecated in the value set {2}",
    "Coding_has_no_system__cannot_validate": "The coding has no system, so the code has no defined meaning and "
                                             "cannot be validated",
    "DEPRECATED_CONCEPT_FOUND": "The concept '{1}' is deprecated: {0}",
    "Display_Name_for__should_be_one_of__instead_of_one": "Wrong Display Name '{4}' for {1}#{2}. Valid display is "
                                                          "{3} (for the language(s) '{5}')",
    "Display_Name_for__should_be_one_of__instead_of_other": "Wrong Display Name '{4}' for {1}#{2}. Valid display "
                                                            "is one of {0} choices: {3} (for the language(s) '{5}')",
    "Display_Name_WS_for__should_be_one_of__instead_of_one": "Wrong whitespace in Display Name '{4}' for {1}#{2}. "
                                                             "Valid display is {3} (for the language(s) '{5}')",
    "Display_Name_WS_for__should_be_one_of__instead_of_other": "Wrong whitespace in Display Name '{4}' for {1}#{2}."
                                                               " Valid display is one of {0} choices: {3} (for the "
                                                               "language(s) '{5}')",
    "FILTER_CODE_UNKNOWN": "The filter refers to the code '{0}', which is not in the code system {1}",
    "FILTER_NOT_UNDERSTOOD": "The filter '{0} {1} {2}' is not supported for the code system {3}",
    "INACTIVE_CONCEPT_FOUND": "The concept '{1}' has a status of {0} and its use should be reviewed",
    "INACTIVE_DISPLAY_FOUND": "The display '{0}' is an inactive display of the concept '{1}'",
    "NO_VALID_DISPLAY_FOUND_NONE_FOR_LANG_ERR": "Wrong Display Name '{0}' for {1}#{2}. There are no valid display "
                                                "names for the language(s) '{3}'. The default display is '{4}'",
    "NO_VALID_DISPLAY_FOUND_NONE_FOR_LANG_OK": "There are no valid display names for the code {1}#{2} in the "
                                               "language(s) '{3}'. The display '{0}' is valid in the default "
                                               "language",
    "None_of_the_provided_codes_are_in_the_value_set_one": "The provided code '{2}' was not found in the value set "
                                                           "'{1}'",
    "None_of_the_provided_codes_are_in_the_value_set_other": "None of the provided codes [{2}] are in the value "
                                                             "set '{1}'",
    "REGEX_INVALID": "The regular expression '{0}' is not valid or is too costly to run: {1}",
    "STATUS_CODE_WARNING_CODE": "The concept '{1}' is valid but is {0}",
    "TX_GENERAL_CC_ERROR_MESSAGE": "No valid coding was found for the value set '{0}'",
    "Terminology_TX_System_Relative": "Coding.system must be an absolute reference, not a local reference",
    "Terminology_TX_System_ValueSet2": "The Coding references a value set, not a code system ('{0}')",
    "UNABLE_TO_HANDLE_SYSTEM_FILTER_WITH_NO_VALUE": "The filter on system {0} (property = {1}, op = {2}) has no "
                                                    "value",
    "UNABLE_TO_INFER_CODESYSTEM": "The system could not be determined for the code '{0}' in the value set '{1}'",
    "Unable_to_resolve_system__value_set_has_multiple_matches": "The system could not be determined for the code "
                                                                "'{0}' in the value set '{1}': the value set has "
                                                                "several matches: {2}",
    "Unable_to_resolve_value_Set_": "A definition for the value Set '{0}' could not be found",
    "UNKNOWN_CODE_IN_FRAGMENT": "Unknown Code '{0}' in the CodeSystem '{1}' version '{2}'; the code system is a "
                                "fragment, so the code may be valid in another fragment",
    "Unknown_Code_in": "Unknown code '{0}' in the CodeSystem '{1}'",
    "Unknown_Code_in_Version": "Unknown code '{0}' in the CodeSystem '{1}' version '{2}'",
    "UNKNOWN_CODESYSTEM": "A definition for CodeSystem '{0}' could not be found, so the code cannot be validated",
    "UNKNOWN_CODESYSTEM_EXP": "A definition for CodeSystem '{0}' could not be found, so the value set cannot be "
                              "expanded",
    "UNKNOWN_CODESYSTEM_VERSION": "A definition for CodeSystem '{0}' version '{1}' could not be found, so the code "
                                  "cannot be validated. Valid versions: {2}",
    "UNKNOWN_CODESYSTEM_VERSION_NONE": "A definition for CodeSystem '{0}' version '{1}' could not be found, so the "
                                       "code cannot be validated. No versions of this code system are known",
    "UNKNOWN_CODESYSTEM_VERSION_EXP": "A definition for CodeSystem '{0}' version '{1}' could not be found, so the "
                                      "value set cannot be expanded. Valid versions: {2}",
    "UNKNOWN_CODESYSTEM_VERSION_EXP_NONE": "A definition for CodeSystem '{0}' version '{1}' could not be found, so "
                                           "the value set cannot be expanded. No versions of this code system are "
                                           "known",
    "VALUESET_CIRCULAR_REFERENCE": "The value set {0} refers to itself through its imports: {1}",
    "VALUESET_SUPPLEMENT_MISSING_one": "The required supplement is not available: {0}",
    "VALUESET_SUPPLEMENT_MISSING_other": "The required supplements are not available: {0}",
    "VALUESET_TOO_COSTLY": "The value set '{0}' expansion has too many codes to display ({1}); use count and "
                           "offset to page through it",
    "VALUESET_VALUE_MISMATCH": "The code system {0} version {1} in the value set does not match the version {2} "
                               "in the coding",
    "VALUESET_VALUE_MISMATCH_CHANGED": "The code system {0} version {1} was chosen by the version rules, not the "
                                       "value set's version {2}, and does not match the version {3} in the coding",
    "VALUESET_VALUE_MISMATCH_DEFAULT": "The code system {0} default version {1} was used (the value set names "
                                       "version {2}), and does not match the version {3} in the coding",
    "VALUESET_VERSION_CHECK": "The version '{1}' of the code system {0} does not match the version '{2}' required "
                              "by check-system-version",
    "VS_EXP_IMPORT_UNK_PINNED": "The value set {0} imports {1} version {2}, which could not be found",
}


def message(key: str, *args) -> str:
    """The text for ``key`` with its arguments filled in (``{n}`` placeholders)."""
    template = MESSAGES.get(key)
    if template is None:
        return f"{key}: " + ", ".join(map(str, args))
    for index, arg in enumerate(args):
        template = template.replace("{" + str(index) + "}", "" if arg is None else str(arg))
    return template


def plural(key: str, count: int, *args) -> str:
    return message(f"{key}_{'one' if count == 1 else 'other'}", *args)
