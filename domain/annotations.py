"""Annotations (tags, shapes, tracks) of a task, seen whole or through one job.

Storage is per task (domain/annotation_files.py); a job is a window on the
task's frames [start_frame, stop_frame]:
  * tags and shapes belong to their frame: a job shows those on its frames, so
    overlap frames appear in both neighbouring jobs, and a change through a job
    is a change to the task;
  * a track shows in a job when it is visible on one of the job's frames; the
    job sees the track's keyframes on its frames, plus a keyframe at the job's
    first frame (interpolated, without id) when the track enters the job
    visible;
  * writing a track through a job replaces the part of it on the job's frames
    and keeps how it looks elsewhere: a keyframe is added at stop_frame + 1
    carrying the old state there, or, for a track that was not visible after
    the job, an `outside` keyframe closes it at stop_frame + 1 (CVAT ends a
    job's tracks at the job's end). Deleting a track through a job removes its
    part on the job's frames (an `outside` keyframe at start_frame hides it
    there); a track with nothing visible left is deleted.

Ids come from one counter per task shared by every kind (tags, shapes, tracks,
skeleton elements, track keyframes), so an id names one object in the task and
`remove_annotations(ids=…)` is unambiguous. Ids never change and are never
reused.

Every change bumps the task's annotation version and the version of each job
whose frames it touches; these are the ETags. A write carrying a stale If-Match
tag fails with 412 before anything is written. A write is one journal record
(or one snapshot), so it is all or nothing.

Writers hold the task's file lock (not the store's lock, so a 100k-shape save
blocks no other task). Lock order: store lock, then task lock (label deletion
and project moves purge/remap annotations inside the store's transaction);
annotation writers therefore never take the store lock while holding the task
lock: they touch `updated_date` after releasing it.
"""
from __future__ import annotations

import gc
import math
from contextlib import contextmanager

import orjson

from domain import annotation_check as chk, clock, labels as label_ops
from domain.annotation_files import KINDS, State, TaskFiles
from domain.errors import DomainError, Invalid, NotFound
from storage.layout import Layout

ACTIONS = ("create", "update", "delete")
INF = math.inf


class PreconditionFailed(DomainError):
    status = 412

    def __init__(self, detail="The annotations changed since they were read (stale If-Match)."):
        super().__init__(detail)


class Scope:
    """What a request addresses: a whole task, or one job's frames of it."""

    def __init__(self, store, task: dict, job: dict | None):
        from domain import tasks as task_ops   # tasks imports labels; keep imports one-way at load
        data = task.get("data") or {}
        self.store = store
        self.last_etag: str | None = None   # set by a write: the ETag of what it stored
        self.task = task
        self.task_id = task["id"]
        self.job = job
        self.size = data.get("size") or 0
        self.jobs = [j for j in task_ops.jobs_by_task(store).get(task["id"], [])
                     if j.get("type", "annotation") == "annotation"]
        if job is None:
            self.first, self.last = 0, self.size - 1
        else:
            self.first, self.last = job["start_frame"], job["stop_frame"]
        base = Layout.of_store(store).annotations_dir(task["id"])
        # Ground-truth and consensus-replica jobs keep their own annotations (as in CVAT):
        # not a window on the task's, and not part of what the task shows.
        self.separate = job is not None and job.get("type", "annotation") != "annotation"
        if self.separate:
            self.jobs = [job]
            self.files = TaskFiles(base / f"job-{job['id']}")
        else:
            self.files = TaskFiles(base)

    def require_frames(self) -> "Scope":
        if self.size <= 0:
            raise Invalid(["The task has no data yet: annotations need its frames."])
        return self

    @property
    def whole_task(self) -> bool:
        """True when the scope is a whole annotation document (the task's, or a
        separate job's), False for a window on the task's frames."""
        return self.job is None or self.separate

    def etag(self, meta) -> str:
        if self.job is None:
            return f'"t{self.task_id}.{meta.version}"'
        return f'"j{self.job["id"]}.{meta.job_versions.get(str(self.job["id"]), 0)}"'

    def rules(self) -> chk.Rules:
        task = self.store.peek("tasks", self.task_id)
        if task is None:
            raise NotFound()
        if task.get("project_id") is not None:
            labels = label_ops.owner_labels(self.store, project_id=task["project_id"])
        else:
            labels = label_ops.owner_labels(self.store, task_id=self.task_id)
        return chk.Rules(labels, self.first, self.last)


def task_scope(store, task_id: int) -> Scope:
    task = store.peek("tasks", task_id)
    if task is None:
        raise NotFound()
    return Scope(store, task, None)


def job_scope(store, job_id: int) -> Scope:
    job = store.peek("jobs", job_id)
    if job is None:
        raise NotFound()
    task = store.peek("tasks", job["task_id"])
    if task is None:
        raise NotFound()
    return Scope(store, task, job)


@contextmanager
def bulk():
    """No cyclic GC while a big body is parsed, checked and written: the collector
    would traverse the hundreds of thousands of fresh (acyclic) dicts again and
    again and double the time. Plain reference counting frees them."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# -- tracks through a window of frames -------------------------------------------------
def _state_at(shapes: list, frame: int) -> dict | None:
    """The track's shape on `frame` (its keyframe, or interpolated between keyframes),
    None when the track is not visible there."""
    prev = nxt = None
    for s in shapes:
        if s["frame"] <= frame:
            prev = s
        else:
            nxt = s
            break
    if prev is None or prev["outside"]:
        return None
    out = dict(prev)
    out["frame"] = frame
    if (prev["frame"] != frame and nxt is not None and not nxt["outside"] and nxt["type"] == prev["type"]
            and prev["type"] != "mask" and len(nxt["points"]) == len(prev["points"])):
        t = (frame - prev["frame"]) / (nxt["frame"] - prev["frame"])
        out["points"] = [p + (q - p) * t for p, q in zip(prev["points"], nxt["points"])]
    return out


def _clip_shapes(shapes: list, a: int, b: int) -> list:
    inside = [s for s in shapes if a <= s["frame"] <= b]
    if not inside or inside[0]["frame"] != a:
        entering = _state_at(shapes, a)
        if entering is not None:
            entering.pop("id", None)
            inside.insert(0, entering)
    return inside


def _clip_track(track: dict, a: int, b: int) -> dict | None:
    """The track as a job on frames a..b sees it, None if it is not visible there."""
    shapes = track["shapes"]
    if shapes[0]["frame"] > b or (shapes[-1]["frame"] < a and shapes[-1]["outside"]):
        return None
    clipped = _clip_shapes(shapes, a, b)
    if all(s["outside"] for s in clipped):
        return None
    out = dict(track, shapes=clipped, frame=clipped[0]["frame"])
    if "elements" in track:
        elements = []
        for element in track["elements"]:
            es = _clip_shapes(element["shapes"], a, b)
            if es:
                elements.append(dict(element, shapes=es, frame=es[0]["frame"]))
        out["elements"] = elements
    return out


def _splice(old: list, new: list, a: int, b: int, last: int, new_id) -> list:
    """`old` keyframes with those on a..b replaced by `new` (all on a..b), keeping
    how the track looks outside a..b."""
    before = [s for s in old if s["frame"] < a]
    after = [s for s in old if s["frame"] > b]
    middle = list(new)
    if not middle and before and not before[-1]["outside"]:
        middle = [dict(before[-1], id=new_id(), frame=a, outside=True)]
    if b < last and not (after and after[0]["frame"] == b + 1):
        then = _state_at(old, b + 1)
        tail = (middle or before)[-1] if (middle or before) else None
        if then is not None:
            after.insert(0, dict(then, id=new_id(), frame=b + 1))
        elif tail is not None and not tail["outside"]:
            after.insert(0, dict(tail, id=new_id(), frame=b + 1, outside=True))
    return before + middle + after


def _visible(shapes: list) -> bool:
    return any(not s["outside"] for s in shapes)


# -- ids and spans ---------------------------------------------------------------------
class _Ids:
    def __init__(self, start: int):
        self.next = start

    def __call__(self) -> int:
        value = self.next
        self.next += 1
        return value


def _give_ids(kind: str, obj: dict, ids: _Ids, keep=frozenset()) -> dict:
    """Assign ids to a normalized object and everything inside it; nested ids in
    `keep` (the old object's) stay."""
    if obj.get("id") is None:
        obj["id"] = ids()
    used = set()

    def nested(item):
        if item.get("id") is None or item["id"] not in keep or item["id"] in used:
            item["id"] = ids()
        used.add(item["id"])

    if kind == "shapes":
        for element in obj.get("elements", ()):
            nested(element)
            element["frame"] = obj["frame"]
    elif kind == "tracks":
        for shape in obj["shapes"]:
            nested(shape)
        for element in obj.get("elements", ()):
            nested(element)
            for shape in element["shapes"]:
                nested(shape)
    return obj


def _nested_ids(obj: dict) -> set:
    out = set()
    for element in obj.get("elements", ()):
        out.add(element["id"])
        for shape in element.get("shapes", ()):
            if shape.get("id") is not None:
                out.add(shape["id"])
    for shape in obj.get("shapes", ()) if isinstance(obj.get("shapes"), list) else ():
        if shape.get("id") is not None:
            out.add(shape["id"])
    return out


class _Touched:
    """Frames a change touches, to know which jobs' versions it bumps."""

    def __init__(self):
        self.frames: set = set()
        self.spans: list = []
        self.everything = False

    def add(self, kind: str, obj: dict) -> None:
        if kind != "tracks":
            self.frames.add(obj["frame"])
            return
        lo, hi = INF, -INF
        for shapes in [obj["shapes"]] + [e["shapes"] for e in obj.get("elements", ())]:
            if shapes:
                lo = min(lo, shapes[0]["frame"])
                hi = max(hi, INF if not shapes[-1]["outside"] else shapes[-1]["frame"])
        self.spans.append((lo, hi))

    def job_versions(self, scope: Scope, version: int) -> dict:
        out = {}
        frames = sorted(self.frames)
        for job in scope.jobs:
            a, b = job["start_frame"], job["stop_frame"]
            hit = self.everything or any(lo <= b and a <= hi for lo, hi in self.spans)
            if not hit and frames:
                import bisect
                i = bisect.bisect_left(frames, a)
                hit = i < len(frames) and frames[i] <= b
            if hit:
                out[str(job["id"])] = version
        return out


def _check_if_match(scope: Scope, meta, if_match: str | None) -> None:
    if if_match is None:
        return
    tags = {t.strip().removeprefix("W/") for t in if_match.split(",")}
    if "*" in tags:
        return
    if scope.etag(meta) not in tags:
        raise PreconditionFailed()


def _labeled_data(version: int, objects: dict) -> dict:
    return {"version": version, "tags": objects.get("tags", []), "shapes": objects.get("shapes", []),
            "tracks": objects.get("tracks", []), "intervals": []}


# -- reads -----------------------------------------------------------------------------
def read(scope: Scope) -> tuple[str, bytes]:
    """(ETag, serialized LabeledData) of the task or the job."""
    scope.require_frames()
    if scope.whole_task:
        meta, body = scope.files.body()
        return scope.etag(meta), body
    with bulk():
        state = scope.files.state()
        return scope.etag(state), orjson.dumps(_job_view(state, scope.first, scope.last))


def read_data(scope: Scope) -> dict:
    return orjson.loads(read(scope)[1])


def current_etag(scope: Scope) -> str:
    return scope.etag(scope.files.meta())


def _job_view(state: State, a: int, b: int) -> dict:
    tracks = []
    for track in state.tracks.values():
        clipped = _clip_track(track, a, b)
        if clipped is not None:
            tracks.append(clipped)
    return _labeled_data(state.version, {
        "tags": [t for t in state.tags.values() if a <= t["frame"] <= b],
        "shapes": [s for s in state.shapes.values() if a <= s["frame"] <= b],
        "tracks": tracks,
    })


# -- writes ----------------------------------------------------------------------------
def _commit(scope: Scope, meta, ids: _Ids, up: dict, dele: dict, touched: _Touched) -> tuple[int, dict]:
    version = meta.version + 1
    job_versions = touched.job_versions(scope, version)
    scope.files.append({"v": version, "n": ids.next, "jv": job_versions,
                        "up": {k: v for k, v in up.items() if v}, "del": {k: v for k, v in dele.items() if v}})
    return version, job_versions


def _touch(scope: Scope, job_versions: dict) -> None:
    """updated_date of the task, the touched jobs and the project (after the task lock)."""
    from domain import projects
    store = scope.store
    now = clock.now()
    with store.transaction():
        if store.update("tasks", scope.task_id, lambda t: t.update(updated_date=now)) is None:
            return
        for job_id in job_versions:
            store.update("jobs", int(job_id), lambda j: j.update(updated_date=now))
        if scope.task.get("project_id") is not None and store.peek("projects", scope.task["project_id"]):
            projects.touch(store, scope.task["project_id"])


def _close_new_track(scope: Scope, track: dict, ids: _Ids) -> None:
    """A track created through a job ends at the job's end (CVAT)."""
    if scope.whole_task:
        return
    track["shapes"] = _splice([], track["shapes"], scope.first, scope.last, scope.size - 1, ids)
    for element in track.get("elements", ()):
        element["shapes"] = _splice([], element["shapes"], scope.first, scope.last, scope.size - 1, ids)


def _view(scope: Scope, kind: str, obj: dict):
    if kind == "tracks" and not scope.whole_task:
        return _clip_track(obj, scope.first, scope.last)
    return obj


def parse_json(raw: bytes):
    """A request body (empty → {}); 400 when it is not JSON."""
    if not raw:
        return {}
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise Invalid({"detail": "JSON parse error - the request body is not valid JSON."})


def put(scope: Scope, payload, if_match: str | None = None) -> bytes:
    """Replace all annotations of the task (or of the job's frames). `payload` is
    LabeledData as a dict, or the raw JSON body (bytes): a big body of plain shapes
    is then parsed and checked by msgspec in one C pass (see annotation_check)."""
    scope.require_frames()
    with bulk(), scope.files.lock():
        rules = scope.rules()
        data = None
        if isinstance(payload, (bytes, bytearray)):
            if scope.whole_task:
                data = chk.decode_put(payload, rules)
            if data is None:
                payload = parse_json(payload)
        if data is None:
            data = chk.check(payload, rules, chk.IDS_ABSENT)
        if scope.whole_task:
            meta = scope.files.meta()
            _check_if_match(scope, meta, if_match)
            ids = _Ids(meta.next_id)
            version = meta.version + 1
            for kind in KINDS:
                for obj in data[kind]:
                    if not isinstance(obj, dict):      # a msgspec PlainShape
                        obj.id = ids.next
                        ids.next += 1
                    elif "elements" in obj or kind == "tracks":
                        _give_ids(kind, obj, ids)
                    else:
                        obj["id"] = ids.next
                        ids.next += 1
            job_versions = {str(j["id"]): version for j in scope.jobs}
            body = scope.files.write_snapshot_raw(
                {"version": version, "next_id": ids.next, "job_versions": job_versions},
                _labeled_data(version, data), encode=chk.encode_json)
        else:
            state = scope.files.state()
            _check_if_match(scope, state, if_match)
            ids = _Ids(state.next_id)
            up, dele, touched = _clear_window(scope, state, ids)
            created = _create(scope, data, ids, up, touched)
            version, job_versions = _commit(scope, state, ids, up, dele, touched)
            body = orjson.dumps(_labeled_data(version, created))
        scope.last_etag = scope.etag(scope.files.meta())   # ours: taken before another writer's
    _touch(scope, job_versions)
    return body


def _clear_window(scope: Scope, state: State, ids: _Ids):
    """What removes everything a job shows: its tags and shapes, and the tracks'
    parts on its frames."""
    a, b = scope.first, scope.last
    up = {k: [] for k in KINDS}
    dele = {k: [] for k in KINDS}
    touched = _Touched()
    for kind in ("tags", "shapes"):
        for obj in state.kind(kind).values():
            if a <= obj["frame"] <= b:
                dele[kind].append(obj["id"])
                touched.add(kind, obj)
    for track in state.tracks.values():
        if _clip_track(track, a, b) is not None:
            _cut_track(scope, track, ids, up, dele, touched)
    return up, dele, touched


def _cut_track(scope: Scope, track: dict, ids: _Ids, up: dict, dele: dict, touched: _Touched) -> None:
    a, b, last = scope.first, scope.last, scope.size - 1
    touched.add("tracks", track)
    shapes = _splice(track["shapes"], [], a, b, last, ids)
    if not _visible(shapes):
        dele["tracks"].append(track["id"])
        return
    cut = dict(track, shapes=shapes, frame=shapes[0]["frame"])
    if "elements" in track:
        elements = []
        for element in track["elements"]:
            es = _splice(element["shapes"], [], a, b, last, ids)
            if es:
                elements.append(dict(element, shapes=es, frame=es[0]["frame"]))
        cut["elements"] = elements
    up["tracks"].append(cut)


def _create(scope: Scope, data: dict, ids: _Ids, up: dict, touched: _Touched) -> dict:
    created = {}
    for kind in KINDS:
        out = []
        for obj in data[kind]:
            obj["id"] = None
            _give_ids(kind, obj, ids)
            if kind == "tracks":
                _close_new_track(scope, obj, ids)
            up[kind].append(obj)
            touched.add(kind, obj)
            out.append(_view(scope, kind, obj))
        created[kind] = out
    return created


def patch(scope: Scope, action: str, payload, if_match: str | None = None) -> dict:
    """PATCH ?action=create|update|delete; returns LabeledData of the affected objects."""
    if action not in ACTIONS:
        raise Invalid(["Please specify a correct 'action' for the request"])
    scope.require_frames()
    with bulk(), scope.files.lock():
        rules = scope.rules()
        if action == "create":
            data = chk.check(payload, rules, chk.IDS_ABSENT)
            meta = scope.files.meta()   # counters only: appending costs the same on any task size
            _check_if_match(scope, meta, if_match)
            ids = _Ids(meta.next_id)
            up = {k: [] for k in KINDS}
            touched = _Touched()
            affected = _create(scope, data, ids, up, touched)
            if any(up.values()):
                version, job_versions = _commit(scope, meta, ids, up, {}, touched)
            else:
                version, job_versions = meta.version, {}
        else:
            data = chk.check(payload, rules, chk.IDS_OPTIONAL if action == "update" else chk.IDS_REQUIRED)
            state = scope.files.state()
            _check_if_match(scope, state, if_match)
            ids = _Ids(state.next_id)
            step = _update if action == "update" else _delete
            affected, up, dele, touched = step(scope, state, data, ids)
            if any(up.values()) or any(dele.values()):
                version, job_versions = _commit(scope, state, ids, up, dele, touched)
            else:
                version, job_versions = state.version, {}
        scope.last_etag = scope.etag(scope.files.meta())
    if job_versions:
        _touch(scope, job_versions)
    return _labeled_data(version, affected)


def _in_window(scope: Scope, kind: str, obj: dict) -> bool:
    if scope.whole_task:
        return True
    if kind == "tracks":
        return _clip_track(obj, scope.first, scope.last) is not None
    return scope.first <= obj["frame"] <= scope.last


def _update(scope: Scope, state: State, data: dict, ids: _Ids):
    up = {k: [] for k in KINDS}
    touched = _Touched()
    errors = {}
    for kind in KINDS:
        stored = state.kind(kind)
        bad = {}
        for i, obj in enumerate(data[kind]):
            old = stored.get(obj["id"]) if obj["id"] is not None else None
            if obj["id"] is not None and (old is None or not _in_window(scope, kind, old)):
                where = "task" if scope.job is None else "job"
                bad[i] = {"id": [f"There is no {kind[:-1]} with id {obj['id']} in this {where}."]}
        if bad:
            errors[kind] = [bad.get(i, {}) for i in range(max(bad) + 1)]
    if errors:
        raise Invalid(errors)
    affected = {k: [] for k in KINDS}
    for kind in KINDS:
        stored = state.kind(kind)
        for obj in data[kind]:
            old = stored.get(obj["id"]) if obj["id"] is not None else None
            if old is None:
                obj["id"] = None
                _give_ids(kind, obj, ids)
                if kind == "tracks":
                    _close_new_track(scope, obj, ids)
            else:
                touched.add(kind, old)
                _give_ids(kind, obj, ids, keep=_nested_ids(old))
                if kind == "tracks" and not scope.whole_task:
                    obj = _splice_track(scope, old, obj, ids)
            up[kind].append(obj)
            touched.add(kind, obj)
            affected[kind].append(_view(scope, kind, obj))
    return affected, up, {}, touched


def _splice_track(scope: Scope, old: dict, new: dict, ids: _Ids) -> dict:
    """A track updated through a job: its frames outside the job stay as they were."""
    a, b, last = scope.first, scope.last, scope.size - 1
    out = dict(new)
    out["shapes"] = _splice(old["shapes"], new["shapes"], a, b, last, ids)
    if "elements" in new or "elements" in old:
        old_elements = {e["label_id"]: e for e in old.get("elements", ())}
        elements = []
        for element in new.get("elements", ()):
            before = old_elements.pop(element["label_id"], None)
            shapes = _splice(before["shapes"] if before else [], element["shapes"], a, b, last, ids)
            elements.append(dict(element, id=before["id"] if before else element["id"],
                                 shapes=shapes, frame=shapes[0]["frame"]))
        for element in old_elements.values():
            shapes = _splice(element["shapes"], [], a, b, last, ids)
            if shapes:
                elements.append(dict(element, shapes=shapes, frame=shapes[0]["frame"]))
        out["elements"] = elements
    out["frame"] = out["shapes"][0]["frame"]
    return out


def _delete(scope: Scope, state: State, data: dict, ids: _Ids):
    """Unknown ids (or objects outside the job) are skipped: deleting is idempotent."""
    up = {k: [] for k in KINDS}
    dele = {k: [] for k in KINDS}
    touched = _Touched()
    affected = {k: [] for k in KINDS}
    for kind in KINDS:
        stored = state.kind(kind)
        for obj in data[kind]:
            old = stored.get(obj["id"])
            if old is None or not _in_window(scope, kind, old):   # (ids are unique: the check refused repeats)
                continue
            affected[kind].append(_view(scope, kind, old))
            if kind == "tracks" and not scope.whole_task:
                _cut_track(scope, old, ids, up, dele, touched)
            else:
                dele[kind].append(old["id"])
                touched.add(kind, old)
    return affected, up, dele, touched


def delete(scope: Scope, if_match: str | None = None) -> None:
    """Remove every annotation of the task (or everything the job shows)."""
    scope.require_frames()
    with scope.files.lock():
        if scope.whole_task:
            meta = scope.files.meta()
            _check_if_match(scope, meta, if_match)
            version = meta.version + 1
            state = State(version, meta.next_id, {str(j["id"]): version for j in scope.jobs})
            scope.files.write_snapshot(state)
            job_versions = state.job_versions
        else:
            state = scope.files.state()
            _check_if_match(scope, state, if_match)
            ids = _Ids(state.next_id)
            up, dele, touched = _clear_window(scope, state, ids)
            _, job_versions = _commit(scope, state, ids, up, dele, touched)
        scope.last_etag = scope.etag(scope.files.meta())
    _touch(scope, job_versions)


# -- cascades from labels and projects -----------------------------------------------------
def _rewrite_all(store, task_id: int, change) -> None:
    """Apply `change(state) -> State` to a task's annotations and to those of its
    separate (ground-truth, replica) jobs (inside the caller's store transaction:
    lock order store, then task)."""
    base = Layout.of_store(store).annotations_dir(task_id)
    if not base.exists():
        return
    for directory in [base] + sorted(p for p in base.glob("job-*") if p.is_dir()):
        _rewrite_one(store, task_id, TaskFiles(directory), change)


def delete_job_annotations(store, job: dict) -> None:
    """For whoever deletes a job: a separate (ground-truth, replica) job's annotations
    go with it; an annotation job's are the task's frames and stay with the task."""
    import shutil
    directory = Layout.of_store(store).annotations_dir(job["task_id"]) / f"job-{job['id']}"
    with TaskFiles(directory).lock():
        for child in directory.glob("*"):
            if child.name != ".lock":
                child.unlink(missing_ok=True) if child.is_file() else shutil.rmtree(child, ignore_errors=True)
    shutil.rmtree(directory, ignore_errors=True)
    TaskFiles(directory).forget()


def _rewrite_one(store, task_id: int, files: TaskFiles, change) -> None:
    from domain import tasks as task_ops
    with files.lock():
        state = files.state()
        new = change(state)
        if new is None:
            return
        version = state.version + 1
        new.version = version
        new.next_id = state.next_id
        new.job_versions = dict(state.job_versions)
        for job in task_ops.jobs_by_task(store).get(task_id, []):
            new.job_versions[str(job["id"])] = version
        files.write_snapshot(new)


def forget_labels(store, label: dict, label_ids: list[int]) -> None:
    """After labels were deleted: delete their annotations in every task that used them."""
    from domain import tasks as task_ops
    if label.get("project_id") is not None:
        task_ids = [t["id"] for t in task_ops.tasks_by_project(store).get(label["project_id"], [])]
    else:
        task_ids = [label.get("task_id")]
    gone = set(label_ids)

    def drop(state: State):
        kept = State()
        changed = False
        for kind in KINDS:
            target = kept.kind(kind)
            for oid, obj in state.kind(kind).items():
                if obj["label_id"] in gone:
                    changed = True
                    continue
                elements = obj.get("elements")
                if elements and any(e["label_id"] in gone for e in elements):
                    obj = dict(obj, elements=[e for e in elements if e["label_id"] not in gone])
                    changed = True
                target[oid] = obj
        return kept if changed else None

    for task_id in task_ids:
        if task_id is not None:
            _rewrite_all(store, task_id, drop)


def remap_labels(store, task_id: int, mapping: dict[int, int], source_labels: list[dict]) -> None:
    """A task moved into a project: label ids follow `mapping` (by name); attribute
    ids follow the attributes' names; values of attributes the new label lacks go."""
    if not mapping:
        return
    old_attrs = {l["id"]: {a["id"]: a["name"] for a in l.get("attributes", [])} for l in source_labels}
    new_attrs = {}
    for new_id in set(mapping.values()):
        doc = store.peek("labels", new_id)
        new_attrs[new_id] = {a["name"]: a["id"] for a in (doc or {}).get("attributes", [])}

    def attrs(values, old_label, new_label):
        out = []
        for value in values:
            name = old_attrs.get(old_label, {}).get(value["spec_id"])
            spec = new_attrs.get(new_label, {}).get(name)
            if spec is not None:
                out.append({"spec_id": spec, "value": value["value"]})
        return out

    def move(obj):
        old, new = obj["label_id"], mapping.get(obj["label_id"], obj["label_id"])
        out = dict(obj, label_id=new, attributes=attrs(obj.get("attributes", []), old, new))
        if isinstance(obj.get("shapes"), list) and obj["shapes"] and "type" in obj["shapes"][0]:
            out["shapes"] = [dict(s, attributes=attrs(s.get("attributes", []), old, new)) for s in obj["shapes"]]
        if "elements" in obj:
            out["elements"] = [move(e) for e in obj["elements"]]
        return out

    def change(state: State):
        moved = State()
        for kind in KINDS:
            target = moved.kind(kind)
            for oid, obj in state.kind(kind).items():
                target[oid] = move(obj)
        return moved

    _rewrite_all(store, task_id, change)


def forget_attributes(store, label: dict, attribute_ids: list[int]) -> None:
    """After attributes of `label` were deleted: drop their values everywhere
    (attribute ids are unique across the server)."""
    from domain import tasks as task_ops
    if label.get("project_id") is not None:
        task_ids = [t["id"] for t in task_ops.tasks_by_project(store).get(label["project_id"], [])]
    else:
        task_ids = [label.get("task_id")]
    gone = set(attribute_ids)

    def clean(obj):
        out = obj
        if any(a["spec_id"] in gone for a in obj.get("attributes", ())):
            out = dict(obj, attributes=[a for a in obj["attributes"] if a["spec_id"] not in gone])
        for key in ("shapes", "elements"):
            if isinstance(obj.get(key), list) and obj[key] and isinstance(obj[key][0], dict):
                items = [clean(x) for x in obj[key]]
                if any(a is not b for a, b in zip(items, obj[key])):
                    out = dict(out, **{key: items})
        return out

    def change(state: State):
        cleaned = State()
        changed = False
        for kind in KINDS:
            target = cleaned.kind(kind)
            for oid, obj in state.kind(kind).items():
                target[oid] = clean(obj)
                changed = changed or target[oid] is not obj
        return cleaned if changed else None

    for task_id in task_ids:
        if task_id is not None:
            _rewrite_all(store, task_id, change)
