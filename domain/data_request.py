"""The DataRequest body of POST /api/tasks/{id}/data/ (CVAT §4.1): validated
and normalised into plain parameters. Multipart forms send every value as a
string and lists as `name[i]` fields; JSON sends real types; both arrive here
as one dict."""
from __future__ import annotations

import re

from domain.errors import Invalid

SORTING = ("lexicographical", "natural", "predefined", "random")
STORAGE_METHODS = ("cache", "file_system")
_STEP = re.compile(r"^\s*step\s*=\s*([1-9]\d*)\s*$")
_TRUE = ("true", "t", "yes", "y", "on", "1")
_FALSE = ("false", "f", "no", "n", "off", "0")


def _bool(name, value, errors):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _TRUE + _FALSE:
        return value.lower() in _TRUE
    errors[name] = ["Must be a valid boolean."]
    return False


def _int(name, value, errors, minimum=None, maximum=None, nullable=False):
    if value is None or value == "":
        if nullable:
            return None
        errors[name] = ["This field may not be null."]
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        errors[name] = ["A valid integer is required."]
        return None
    try:
        number = int(value)
    except ValueError:
        errors[name] = ["A valid integer is required."]
        return None
    if minimum is not None and number < minimum:
        errors[name] = [f"Ensure this value is greater than or equal to {minimum}."]
    elif maximum is not None and number > maximum:
        errors[name] = [f"Ensure this value is less than or equal to {maximum}."]
    return number


def _strings(name, value, errors):
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors[name] = ["Expected a list of strings."]
        return []
    return value


def collect_form_lists(form: dict) -> dict:
    """`server_files[0]=a&server_files[1]=b` → {"server_files": ["a", "b"]}."""
    out, lists = {}, {}
    for key, value in form.items():
        m = re.match(r"^(\w+)\[(\d+)\]$", key)
        if m:
            lists.setdefault(m.group(1), []).append((int(m.group(2)), value))
        else:
            out[key] = value
    for key, items in lists.items():
        out[key] = [v for _, v in sorted(items)]
    return out


def parse(body: dict) -> dict:
    """Normalised DataRequest parameters, or Invalid with DRF-shaped errors."""
    if not isinstance(body, dict):
        raise Invalid({"non_field_errors": ["Invalid data. Expected a dictionary."]})
    errors: dict = {}
    p: dict = {}
    quality = body.get("image_quality", 70)
    p["image_quality"] = _int("image_quality", quality, errors, 0, 100)
    p["chunk_size"] = _int("chunk_size", body.get("chunk_size"), errors, 1, nullable=True)
    p["start_frame"] = _int("start_frame", body.get("start_frame", 0), errors, 0) or 0
    p["stop_frame"] = _int("stop_frame", body.get("stop_frame"), errors, 0, nullable=True)
    if p["stop_frame"] is not None and p["start_frame"] > p["stop_frame"] and "start_frame" not in errors:
        errors["stop_frame"] = ["stop_frame must be more or equal start_frame"]
    frame_filter = body.get("frame_filter") or ""
    if not isinstance(frame_filter, str) or len(frame_filter) > 256:
        errors["frame_filter"] = ["Invalid frame filter expression"]
        step = 1
    elif frame_filter.strip():
        m = _STEP.match(frame_filter)
        if not m:
            errors["frame_filter"] = ["Invalid frame filter expression"]
            step = 1
        else:
            step = int(m.group(1))
    else:
        step = 1
    p["frame_filter"] = f"step={step}" if step > 1 else ""
    p["step"] = step
    for key in ("server_files", "server_files_exclude", "remote_files", "upload_file_order"):
        p[key] = _strings(key, body.get(key), errors)
    for key in ("use_zip_chunks", "use_cache", "copy_data"):
        p[key] = _bool(key, body.get(key, False), errors)
    storage_method = body.get("storage_method") or "file_system"
    if storage_method not in STORAGE_METHODS:
        errors["storage_method"] = [f'"{storage_method}" is not a valid choice.']
    p["storage_method"] = "cache" if p["use_cache"] else storage_method
    sorting = body.get("sorting_method") or "lexicographical"
    if sorting not in SORTING:
        errors["sorting_method"] = [f'"{sorting}" is not a valid choice.']
    p["sorting_method"] = sorting
    if body.get("cloud_storage_id") is not None:
        errors["cloud_storage_id"] = ["Cloud storages are not supported by this server."]
    pattern = body.get("filename_pattern")
    if pattern is not None and not isinstance(pattern, str):
        errors["filename_pattern"] = ["Not a valid string."]
    p["filename_pattern"] = pattern or None
    mapping = body.get("job_file_mapping")
    if mapping is not None:
        if not isinstance(mapping, list) or not all(
                isinstance(job, list) and job and all(isinstance(n, str) for n in job) for job in mapping):
            errors["job_file_mapping"] = ["Expected a list of non-empty lists of file names."]
            mapping = None
        else:
            names = [n for job in mapping for n in job]
            if len(names) != len(set(names)):
                errors["job_file_mapping"] = ["Each file can only be used in one job."]
            if step > 1 or p["start_frame"] or p["stop_frame"] is not None:
                errors["job_file_mapping"] = ["job_file_mapping can't be used with frame selection options"]
            if sorting not in ("lexicographical", "predefined"):
                errors["job_file_mapping"] = ["job_file_mapping can't be used with sorting other than predefined"]
    p["job_file_mapping"] = mapping or None
    validation = body.get("validation_params")
    if validation is not None:
        if not isinstance(validation, dict) or validation.get("mode") not in ("gt", "gt_pool"):
            errors["validation_params"] = {"mode": ['"mode" must be "gt" or "gt_pool".']}
        elif validation["mode"] == "gt_pool":
            errors["validation_params"] = {"mode": ["Honeypot pools (gt_pool) are not supported by this server."]}
        elif validation.get("frame_selection_method", "random_uniform") not in (
                "random_uniform", "random_per_job", "manual"):
            errors["validation_params"] = {"frame_selection_method": ["Not a valid choice."]}
        elif validation.get("frames") is not None and (not isinstance(validation["frames"], list) or not all(
                isinstance(f, str) for f in validation["frames"])):
            errors["validation_params"] = {"frames": ["Expected a list of file names."]}
    p["validation_params"] = validation if isinstance(validation, dict) else None
    if p["remote_files"]:
        for url in p["remote_files"]:
            if not re.match(r"^https?://[^/\s]+", url):
                errors["remote_files"] = [f"Invalid URL: {url}"]
                break
    if errors:
        raise Invalid(errors)
    return p
