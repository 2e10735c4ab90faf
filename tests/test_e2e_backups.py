"""Backups end to end: cvat-sdk and cvat-cli round trips, a backup laid out
by hand as CVAT lays it out, and archives that must be refused."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from cvat_sdk import make_client, models
from cvat_sdk.core.exceptions import BackgroundRequestException
from PIL import Image

from tests.stack import ADMIN

CLI = str(Path(sys.executable).parent / "cvat-cli")


@pytest.fixture(scope="module")
def sdk(stack):
    with make_client(stack.url, credentials=ADMIN) as client:
        client.config.status_check_period = 0.1
        yield client


def _png(i: int, size=(40, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (i * 60 % 255, 10 * i, 200)).save(buf, format="PNG")
    return buf.getvalue()


def _images(folder: Path, n=5) -> list[Path]:
    folder.mkdir(exist_ok=True)
    paths = []
    for i in range(n):
        p = folder / f"img_{i}.png"
        p.write_bytes(_png(i))
        paths.append(p)
    return paths


LABELS = [
    {"name": "car", "color": "#ff0000", "attributes": [
        {"name": "model", "mutable": False, "input_type": "select", "values": ["a", "b"], "default_value": "a"},
        {"name": "speed", "mutable": True, "input_type": "number", "values": ["0", "100", "1"]}]},
    {"name": "body", "type": "skeleton", "sublabels": [{"name": "head"}, {"name": "tail"}],
     "svg": '<circle r="1" cx="1" cy="1" data-type="element node" data-element-id="1" data-node-id="1" '
            'data-label-name="head"></circle><circle r="1" cx="5" cy="5" data-type="element node" '
            'data-element-id="2" data-node-id="2" data-label-name="tail"></circle>'},
]


@pytest.fixture
def rich_task(sdk, tmp_path):
    task = sdk.tasks.create_from_data(models.TaskWriteRequest(name="backup me", labels=LABELS, segment_size=2,
                                                              bug_tracker="https://bugs/1", subset="val"),
                                      resources=_images(tmp_path / "imgs"))
    return _annotate(sdk, task)


def _annotate(sdk, task):
    """Annotations of every kind (attributes, a skeleton, a tag, a track with
    an outside frame) and a job moved on, on a task with LABELS (its own or
    its project's)."""
    labels = {l.name: l for l in task.get_labels()}
    car, body = labels["car"], labels["body"]
    attrs = {a.name: a.id for a in car.attributes}
    subs = {s.name: s.id for s in body.sublabels}
    task.set_annotations(models.LabeledDataRequest(
        shapes=[
            models.LabeledShapeRequest(type="rectangle", label_id=car.id, frame=0, points=[1.0, 2.0, 10.0, 12.0],
                                       attributes=[models.AttributeValRequest(spec_id=attrs["model"], value="b"),
                                                   models.AttributeValRequest(spec_id=attrs["speed"], value="42")]),
            models.LabeledShapeRequest(type="skeleton", label_id=body.id, frame=3, points=[], elements=[
                models.SubLabeledShapeRequest(type="points", label_id=subs["head"], frame=3, points=[2.0, 2.0]),
                models.SubLabeledShapeRequest(type="points", label_id=subs["tail"], frame=3, points=[6.0, 6.0])]),
        ],
        tags=[models.LabeledImageRequest(label_id=car.id, frame=4)],
        tracks=[models.LabeledTrackRequest(label_id=car.id, frame=0, shapes=[
            models.TrackedShapeRequest(type="rectangle", frame=0, points=[0.0, 0.0, 5.0, 5.0]),
            models.TrackedShapeRequest(type="rectangle", frame=1, points=[1.0, 1.0, 6.0, 6.0], outside=True)])]))
    sdk.jobs.retrieve(task.get_jobs()[-1].id).update(models.PatchedJobWriteRequest(stage="acceptance",
                                                                                      state="completed"))
    return task


def _summary(task):
    ann = task.get_annotations()
    names = {l.id: l.name for l in task.get_labels()}
    for l in task.get_labels():
        names.update({s.id: s.name for s in l.sublabels})

    def shape(s):
        return (names[s.label_id], s.type.value, s.frame, [round(p, 2) for p in s.points],
                sorted(a.value for a in s.attributes), sorted((names[e.label_id], tuple(e.points)) for e in (s.get("elements") or [])))
    return (sorted(shape(s) for s in ann.shapes), sorted((names[t.label_id], t.frame) for t in ann.tags),
            sorted((names[t.label_id], [(s.frame, s.outside) for s in t.shapes]) for t in ann.tracks))


def _labels(task):
    return sorted((l.name, l.color, l.type, sorted((a.name, a.input_type.value, tuple(a.values)) for a in l.attributes),
                   sorted(s.name for s in l.sublabels)) for l in task.get_labels())


def _same_task(restored, source) -> None:
    """Every field a restore must carry over: settings, labels with their
    attributes and sublabels, annotations of every kind, jobs with stage and
    state, and the original frames pixel for pixel."""
    assert restored.id != source.id
    fields = ("name", "size", "segment_size", "overlap", "image_quality", "bug_tracker", "subset", "mode")
    assert [getattr(restored, f) for f in fields] == [getattr(source, f) for f in fields]
    assert _labels(restored) == _labels(source)
    assert _summary(restored) == _summary(source)
    def jobs(task):
        return sorted((j.start_frame, j.stop_frame, j.stage, j.state) for j in task.get_jobs())
    assert jobs(restored) == jobs(source)
    assert [f.name for f in restored.get_meta().frames] == [f.name for f in source.get_meta().frames]
    for frame in range(source.size):
        want = Image.open(io.BytesIO(source.get_frame(frame, quality="original").read()))
        got = Image.open(io.BytesIO(restored.get_frame(frame, quality="original").read()))
        assert got.convert("RGB").tobytes() == want.convert("RGB").tobytes()


def test_task_backup_round_trip(sdk, rich_task, tmp_path):
    archive = tmp_path / "backup.zip"
    rich_task.download_backup(archive)
    with zipfile.ZipFile(archive) as z:
        names = set(z.namelist())
        meta = json.loads(z.read("task.json"))
        per_job = json.loads(z.read("annotations.json"))
    assert {"task.json", "annotations.json", "data/manifest.jsonl"} <= names
    assert {f"data/img_{i}.png" for i in range(5)} <= names
    assert meta["version"] == "1.0" and len(meta["jobs"]) == 3 and len(per_job) == 3
    assert 'data-label-name="head"' in next(l for l in meta["labels"] if l["name"] == "body")["svg"]
    assert "id" not in per_job[0]["shapes"][0] and per_job[0]["shapes"][0]["label"] == "car"

    restored = sdk.tasks.create_from_backup(archive)
    _same_task(restored, rich_task)
    for frame in range(5):
        original = Image.open(io.BytesIO(_png(frame)))
        got = Image.open(io.BytesIO(restored.get_frame(frame, quality="original").read()))
        assert got.convert("RGB").tobytes() == original.convert("RGB").tobytes()


def _rich_project(sdk, tmp_path, name="proj backup"):
    project = sdk.projects.create(models.ProjectWriteRequest(name=name, labels=LABELS, bug_tracker="https://bugs/p"))
    rich = sdk.tasks.create_from_data(models.TaskWriteRequest(name="pt rich", project_id=project.id, segment_size=2,
                                                              subset="train"),
                                      resources=_images(tmp_path / "i"))
    _annotate(sdk, rich)
    plain = sdk.tasks.create_from_data(models.TaskWriteRequest(name="pt plain", project_id=project.id),
                                       resources=_images(tmp_path / "j", 3))
    car = next(l for l in plain.get_labels() if l.name == "car")
    plain.set_annotations(models.LabeledDataRequest(shapes=[models.LabeledShapeRequest(
        type="polygon", label_id=car.id, frame=1, points=[1.0, 1.0, 9.0, 1.0, 5.0, 8.0])]))
    return project


def _same_project(restored, source) -> None:
    assert restored.id != source.id
    assert (restored.name, restored.bug_tracker) == (source.name, source.bug_tracker)
    assert _labels(restored) == _labels(source)
    tasks = {t.name: t for t in restored.get_tasks()}
    assert sorted(tasks) == sorted(t.name for t in source.get_tasks())
    for task in source.get_tasks():
        assert tasks[task.name].project_id == restored.id
        _same_task(tasks[task.name], task)


def test_project_backup_round_trip(sdk, tmp_path):
    project = _rich_project(sdk, tmp_path)
    archive = tmp_path / "project.zip"
    project.download_backup(archive)
    _same_project(sdk.projects.create_from_backup(archive), project)


def _cli(stack, tmp_path, *args) -> str:
    env = {**os.environ, "HOME": str(tmp_path), "PASS": ADMIN[1]}
    out = subprocess.run([CLI, "--server-host", stack.url, "--auth", ADMIN[0], *args], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_cli_backup_and_restore(stack, sdk, rich_task, tmp_path):
    _cli(stack, tmp_path, "task", "backup", str(rich_task.id))
    (archive,) = list(tmp_path.glob("*.zip"))
    assert archive.name.startswith("task_backup_me_backup_")
    new_id = int(_cli(stack, tmp_path, "task", "create-from-backup", str(archive)).split()[-1])
    _same_task(sdk.tasks.retrieve(new_id), rich_task)


def test_cli_project_backup_and_restore(stack, sdk, tmp_path):
    project = _rich_project(sdk, tmp_path, name="cli proj")
    _cli(stack, tmp_path, "project", "backup", str(project.id), "backup.zip")
    new_id = int(_cli(stack, tmp_path, "project", "create-from-backup", "backup.zip").split()[-1])
    _same_project(sdk.projects.retrieve(new_id), project)


def _cvat_backup(path: Path, **overrides):
    """A task backup laid out by hand the way CVAT writes it (frame_filter, manifest, names)."""
    meta = {"name": "made by cvat", "bug_tracker": "", "status": "annotation", "subset": "",
            "labels": [{"name": "cat", "color": "#00ff00", "type": "any", "sublabels": [],
                        "attributes": [{"name": "fluffy", "mutable": False, "input_type": "checkbox",
                                        "default_value": "false", "values": ["false"]}]}],
            "version": "1.0",
            "data": {"chunk_size": 72, "image_quality": 70, "start_frame": 0, "stop_frame": 5,
                     "frame_filter": "step=2", "chunk_type": "imageset", "storage_method": "cache",
                     "storage": "local", "sorting_method": "lexicographical", "deleted_frames": []},
            "jobs": [{"start_frame": 0, "stop_frame": 1, "status": "annotation", "type": "annotation"},
                     {"start_frame": 2, "stop_frame": 2, "status": "completed", "type": "annotation"}]}
    per_job = [{"version": 0, "tags": [], "tracks": [], "shapes": [
                   {"type": "rectangle", "occluded": False, "outside": False, "z_order": 0, "rotation": 0.0,
                    "points": [1.0, 1.0, 8.0, 8.0], "frame": 1, "group": 0, "source": "manual", "label": "cat",
                    "attributes": [{"name": "fluffy", "value": "true"}], "elements": []}]},
               {"version": 0, "tags": [{"frame": 2, "label": "cat", "group": 0, "source": "manual",
                                        "attributes": []}], "shapes": [], "tracks": []}]
    meta.update(overrides.pop("meta", {}))
    meta["data"]["sorting_method"] = overrides.pop("sorting_method", "lexicographical")
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("task.json", json.dumps(meta))
        z.writestr("annotations.json", json.dumps(overrides.pop("annotations", per_job)))
        lines = [{"version": "1.1"}, {"type": "images"}]
        for i in range(6):
            z.writestr(f"data/sub/frame_{i}.png", _png(i))
            lines.append({"name": f"sub/frame_{i}", "extension": ".png", "width": 40, "height": 30,
                          "meta": {"related_images": []}})
        z.writestr("data/manifest.jsonl", overrides.pop(
            "manifest", "\n".join(json.dumps(l, separators=(",", ":")) for l in lines)))
        for name, body in overrides.pop("extra", {}).items():
            z.writestr(name, body)


def test_restore_a_backup_made_by_cvat(sdk, tmp_path):
    archive = tmp_path / "cvat.zip"
    _cvat_backup(archive)
    task = sdk.tasks.create_from_backup(archive)
    assert task.size == 3, "frames 0, 2, 4 of 6 (step=2)"
    assert [f.name for f in task.get_meta().frames] == ["sub/frame_0.png", "sub/frame_2.png", "sub/frame_4.png"]
    jobs = sorted(task.get_jobs(), key=lambda j: j.start_frame)
    assert [(j.start_frame, j.stop_frame, j.state) for j in jobs] == [(0, 1, "new"), (2, 2, "completed")]
    ann = task.get_annotations()
    assert [(s.frame, s.points, s.attributes[0].value) for s in ann.shapes] == [(1, [1.0, 1.0, 8.0, 8.0], "true")]
    assert [t.frame for t in ann.tags] == [2]


@pytest.mark.parametrize("case,message", [
    ("garbage", "not a zip"), ("zip_slip", "zip slip"), ("no_task_json", "task.json"),
    ("wrong_version", "version"), ("unknown_label", "dog"), ("job_mismatch", "jobs"),
    ("annotations_count", "one entry per job"), ("bad_manifest", "manifest.jsonl is not valid json lines")])
def test_bad_backups_fail_and_leave_nothing(sdk, stack, admin_session, tmp_path, case, message):
    archive = tmp_path / f"{case}.zip"
    if case == "garbage":
        archive.write_bytes(b"not a zip at all")
    elif case == "zip_slip":
        _cvat_backup(archive, extra={"../../evil.txt": "x"})
    elif case == "no_task_json":
        with zipfile.ZipFile(archive, "w") as z:
            z.writestr("annotations.json", "[]")
    elif case == "wrong_version":
        _cvat_backup(archive, meta={"version": "9.9"})
    elif case == "unknown_label":
        _cvat_backup(archive, annotations=[{"shapes": [{"type": "rectangle", "points": [0, 0, 1, 1], "frame": 0,
                                                        "label": "dog", "attributes": []}]}, {}])
    elif case == "job_mismatch":
        _cvat_backup(archive, meta={"jobs": [{"start_frame": 0, "stop_frame": 0, "status": "annotation"},
                                             {"start_frame": 1, "stop_frame": 2, "status": "annotation"}]})
    elif case == "annotations_count":
        _cvat_backup(archive, annotations=[{}])
    elif case == "bad_manifest":
        _cvat_backup(archive, sorting_method="predefined", manifest='{"version": "1.1"}\n{not json')
    tasks_before = admin_session.get(f"{stack.url}/api/tasks?page_size=all").json()["count"]
    with pytest.raises(BackgroundRequestException) as failure:
        sdk.tasks.create_from_backup(archive)
    assert message in str(failure.value).lower()
    assert admin_session.get(f"{stack.url}/api/tasks?page_size=all").json()["count"] == tasks_before
    assert not (stack.tmp / "evil.txt").exists() and not (stack.storage / "evil.txt").exists()
    failed = admin_session.get(f"{stack.url}/api/requests?action=import&status=failed").json()["results"][0]
    assert failed["message"] and "Traceback" not in failed["message"]


# -- the compressed chunks a backup carries (chunks/, ignored by CVAT) ------------------------
def _jpeg_chunk(count: int, size=(40, 30), color=(255, 0, 0)) -> bytes:
    """A compressed chunk as the build lays it out, every frame one solid colour."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for i in range(count):
            jpeg = io.BytesIO()
            Image.new("RGB", size, color).save(jpeg, format="JPEG", quality=95)
            z.writestr(f"{i:06d}.jpeg", jpeg.getvalue())
    return buf.getvalue()


def _rewritten(archive: Path, out: Path, replace: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, replace.get(info.filename, src.read(info)))
    return out


def _compressed_frame0(task) -> tuple[int, int, int]:
    return Image.open(io.BytesIO(task.get_frame(0, quality="compressed").read())).convert("RGB").getpixel((20, 15))


def _is_red(pixel) -> bool:
    return pixel[0] > 200 and pixel[1] < 60 and pixel[2] < 60


def test_backup_carries_its_compressed_chunks_and_restore_adopts_them(sdk, rich_task, tmp_path):
    archive = tmp_path / "backup.zip"
    rich_task.download_backup(archive)
    with zipfile.ZipFile(archive) as z:
        index = json.loads(z.read("chunks/index.json"))
        shipped = z.read("chunks/compressed/0.zip")
    assert [f["name"] for f in index["frames"]] == [f"img_{i}.png" for i in range(5)]
    assert (index["image_quality"], index["chunk_size"]) == (70, 72)
    served = io.BytesIO()
    rich_task.download_chunk(0, served, quality="compressed")
    assert shipped == served.getvalue()

    # A shipped chunk that fits is used as it is: the restored task serves its frames.
    restored = sdk.tasks.create_from_backup(_rewritten(archive, tmp_path / "red.zip",
                                                       {"chunks/compressed/0.zip": _jpeg_chunk(5)}))
    assert _is_red(_compressed_frame0(restored))
    for frame in range(5):
        got = Image.open(io.BytesIO(restored.get_frame(frame, quality="original").read()))
        assert got.convert("RGB").tobytes() == Image.open(io.BytesIO(_png(frame))).convert("RGB").tobytes()
    assert [f.name for f in restored.get_meta().frames] == [f"img_{i}.png" for i in range(5)]
    assert (restored.size, restored.get_meta().chunk_size, restored.get_meta().image_quality) == (5, 72, 70)


@pytest.mark.parametrize("case", ["frame_size", "member_count", "quality", "other_file", "bad_index"])
def test_restore_builds_when_the_shipped_chunks_do_not_fit(sdk, rich_task, tmp_path, case):
    """Chunks that are not exactly what the build would make are ignored: the
    frames are encoded from data/ (so the solid red never shows)."""
    archive = tmp_path / "backup.zip"
    rich_task.download_backup(archive)
    with zipfile.ZipFile(archive) as z:
        meta = json.loads(z.read("task.json"))
    replace = {"chunks/compressed/0.zip": _jpeg_chunk(5)}
    if case == "frame_size":
        replace["chunks/compressed/0.zip"] = _jpeg_chunk(5, size=(41, 30))
    elif case == "member_count":
        replace["chunks/compressed/0.zip"] = _jpeg_chunk(4)
    elif case == "quality":
        meta["data"]["image_quality"] = 50
        replace["task.json"] = json.dumps(meta).encode()
    elif case == "other_file":
        replace["data/img_0.png"] = _png(9)
    elif case == "bad_index":
        replace["chunks/index.json"] = b'{"version": 1, "frames": "no"}'
    restored = sdk.tasks.create_from_backup(_rewritten(archive, tmp_path / f"{case}.zip", replace))
    assert restored.size == 5
    assert not _is_red(_compressed_frame0(restored))
    expected = (9 if case == "other_file" else 0)
    got = Image.open(io.BytesIO(restored.get_frame(0, quality="original").read())).convert("RGB")
    assert got.tobytes() == Image.open(io.BytesIO(_png(expected))).convert("RGB").tobytes()
    assert restored.get_meta().image_quality == (50 if case == "quality" else 70)


def test_restore_of_a_damaged_member_fails_and_leaves_nothing(sdk, stack, admin_session, rich_task, tmp_path):
    """A data/ member whose bytes no longer match its CRC: the request fails
    naming the damage, no task is left."""
    archive = tmp_path / "backup.zip"
    rich_task.download_backup(archive)
    raw = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as z:
        info = z.getinfo("data/img_2.png")
    body = raw.index(_png(2), info.header_offset)
    raw[body + len(_png(2)) // 2] ^= 0xFF
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(bytes(raw))
    before = admin_session.get(f"{stack.url}/api/tasks?page_size=all").json()["count"]
    with pytest.raises(BackgroundRequestException) as failure:
        sdk.tasks.create_from_backup(damaged)
    assert "damaged" in str(failure.value).lower() or "crc" in str(failure.value).lower()
    assert admin_session.get(f"{stack.url}/api/tasks?page_size=all").json()["count"] == before


def _chunk_bytes(task, number: int, quality: str) -> bytes:
    out = io.BytesIO()
    task.download_chunk(number, out, quality=quality)
    return out.getvalue()


def test_restore_composes_its_chunks_from_the_kept_backup(sdk, stack, rich_task, tmp_path):
    """A restore copies nothing: the archive is kept in the task's data and its
    chunks are byte ranges of it. They serve the very bytes of the source
    task's chunks, outlive the source, and back up again to the same data/."""
    archive = tmp_path / "backup.zip"
    rich_task.download_backup(archive)
    restored = sdk.tasks.create_from_backup(archive)
    data = stack.storage / "tasks" / str(restored.id) / "data"
    assert (data / "backup.zip").is_file()
    assert (data / "chunks" / "compressed" / "0.zip.plan").is_file()
    assert (data / "chunks" / "original" / "0.zip.plan").is_file()
    assert not (data / "chunks" / "original" / "0.zip").exists()
    expected = {q: _chunk_bytes(rich_task, 0, q) for q in ("compressed", "original")}
    rich_task.remove()
    for quality, body in expected.items():
        assert _chunk_bytes(restored, 0, quality) == body
    for frame in range(5):
        got = Image.open(io.BytesIO(restored.get_frame(frame, quality="original").read()))
        assert got.convert("RGB").tobytes() == Image.open(io.BytesIO(_png(frame))).convert("RGB").tobytes()
    again = tmp_path / "again.zip"
    restored.download_backup(again)
    with zipfile.ZipFile(archive) as first, zipfile.ZipFile(again) as second:
        for name in [n for n in first.namelist() if n.startswith(("data/", "chunks/"))]:
            assert first.read(name) == second.read(name), name


def test_restore_adopts_the_chunks_of_a_deflated_backup(sdk, rich_task, tmp_path):
    """Members compressed in the archive are no byte ranges: the chunks are
    written out instead, still without re-encoding (the red chunk shows)."""
    archive = tmp_path / "backup.zip"
    rich_task.download_backup(archive)
    deflated = tmp_path / "deflated.zip"
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(deflated, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = _jpeg_chunk(5) if info.filename == "chunks/compressed/0.zip" else src.read(info)
            dst.writestr(info.filename, body)
    restored = sdk.tasks.create_from_backup(deflated)
    assert _is_red(_compressed_frame0(restored))
    for frame in range(5):
        got = Image.open(io.BytesIO(restored.get_frame(frame, quality="original").read()))
        assert got.convert("RGB").tobytes() == Image.open(io.BytesIO(_png(frame))).convert("RGB").tobytes()


def test_a_backup_is_laid_out_on_download(sdk, stack, admin_session, rich_task, tmp_path):
    """The export stores a plan over hard links, not a copy of the media; the
    archive downloads whole and valid, with its exact length."""
    import time
    answer = admin_session.post(f"{stack.url}/api/tasks/{rich_task.id}/backup/export")
    assert answer.status_code == 202
    rq_id = answer.json()["rq_id"]
    for _ in range(200):
        request = admin_session.get(f"{stack.url}/api/requests/{rq_id}").json()
        if request["status"] in ("finished", "failed"):
            break
        time.sleep(0.05)
    assert request["status"] == "finished", request
    exported = list((stack.storage / "exports").glob("*.zip.plan"))
    assert exported
    expected = {f"data/img_{i}.png": _png(i) for i in range(5)}
    body = admin_session.get(request["result_url"])
    assert body.status_code == 200 and int(body.headers["Content-Length"]) == len(body.content)
    assert "attachment" in body.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(body.content)) as z:
        assert z.testzip() is None
        assert {n: z.read(n) for n in expected} == expected
        assert {"task.json", "annotations.json", "data/manifest.jsonl", "chunks/index.json"} <= set(z.namelist())
