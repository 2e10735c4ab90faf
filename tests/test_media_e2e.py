"""Task data end to end with cvat-sdk 2.80 against the real stack: images,
archives, videos, the share and remote URLs; frames, chunks, previews, meta
and jobs read back."""
from __future__ import annotations

import io
import zipfile

import pytest
from cvat_sdk import make_client
from cvat_sdk.api_client import models
from cvat_sdk.core.proxies.tasks import ResourceType
from PIL import Image

from tests.media_helpers import COLORS, frame_index, index_of_color, make_images, make_video
from tests.stack import ADMIN


@pytest.fixture
def sdk(stack):
    with make_client(stack.url, credentials=ADMIN) as client:
        client.config.status_check_period = 0.1
        yield client


def _spec(name, **kw):
    return models.TaskWriteRequest(name=name, labels=[models.PatchedLabelRequest(name="car")], **kw)


def _chunk_members(task, number, quality):
    buf = io.BytesIO()
    task.download_chunk(number, buf, quality=quality)
    with zipfile.ZipFile(buf) as zf:
        return [(i.filename, zf.read(i)) for i in zf.infolist()]


def test_images_local(sdk, tmp_path):
    paths = make_images(tmp_path, 7, size=(64, 48))
    task = sdk.tasks.create_from_data(_spec("images", segment_size=3), paths, data_params={"chunk_size": 3})
    assert task.size == 7
    assert task.data_chunk_size == 3
    assert task.data_compressed_chunk_type == "imageset"
    assert task.mode == "annotation"
    meta = task.get_meta()
    assert [f.name for f in meta.frames] == [p.name for p in paths]
    assert all((f.width, f.height) == (64, 48) for f in meta.frames)
    assert meta.size == 7 and meta.start_frame == 0 and meta.stop_frame == 6
    for n in range(7):
        original = task.get_frame(n, quality="original").read()
        assert original == paths[n].read_bytes()
        compressed = Image.open(task.get_frame(n, quality="compressed"))
        assert compressed.format == "JPEG" and compressed.size == (64, 48)
        assert index_of_color(compressed.getpixel((10, 10))) == n
    members = _chunk_members(task, 2, "compressed")
    assert [m[0] for m in members] == ["000000.jpeg"]
    members = _chunk_members(task, 0, "original")
    assert [m[0] for m in members] == ["000000.png", "000001.png", "000002.png"]
    assert [m[1] for m in members] == [p.read_bytes() for p in paths[:3]]
    preview = Image.open(task.get_preview())
    assert preview.format == "JPEG" and max(preview.size) <= 256
    jobs = sorted(task.get_jobs(), key=lambda j: j.start_frame)
    assert [(j.start_frame, j.stop_frame) for j in jobs] == [(0, 2), (3, 5), (6, 6)]
    job = jobs[1]
    assert [f.name for f in job.get_meta().frames] == [p.name for p in paths[3:6]]
    frame = Image.open(io.BytesIO(job.get_frame(4, quality="compressed").read()))
    assert index_of_color(frame.getpixel((5, 5))) == 4
    assert Image.open(job.get_preview()).format == "JPEG"
    requests = sdk.api_client.requests_api.list(task_id=task.id)[0]
    assert [r.status.value for r in requests.results] == ["finished"]
    assert requests.results[0].operation.type == "create:task"


@pytest.mark.parametrize("segment_size,overlap,expected", [
    (0, None, [(0, 9)]),
    (4, None, [(0, 3), (4, 7), (8, 9)]),
    (4, 1, [(0, 3), (3, 6), (6, 9)]),
])
def test_job_ranges(sdk, tmp_path, segment_size, overlap, expected):
    paths = make_images(tmp_path, 10, size=(16, 16))
    kw = {"segment_size": segment_size}
    if overlap is not None:
        kw["overlap"] = overlap
    task = sdk.tasks.create_from_data(_spec("ranges", **kw), paths)
    assert sorted((j.start_frame, j.stop_frame) for j in task.get_jobs()) == expected
    assert task.jobs.count == len(expected)


def test_video_local(sdk, tmp_path):
    path = make_video(tmp_path / "clip.mp4", 20, size=(64, 48))
    task = sdk.tasks.create_from_data(_spec("video"), [path], data_params={"chunk_size": 8})
    assert task.size == 20
    assert task.mode == "interpolation"
    assert task.media_type == "image"  # 2.80's enum has no "video" (spec §3.2)
    assert task.data_original_chunk_type == "video"
    assert task.overlap == 5
    meta = task.get_meta()
    assert [(f.name, f.width, f.height) for f in meta.frames] == [("clip.mp4", 64, 48)]
    for n in (0, 7, 8, 19):
        assert frame_index(task.get_frame(n, quality="compressed").read(), 20) == n
    original = Image.open(task.get_frame(13, quality="original"))
    assert original.format == "PNG"
    assert frame_index(task.get_frame(13, quality="original").read(), 20) == 13
    from workers.media import video
    assert task.data_compressed_chunk_type == "video"  # use_zip_chunks is off
    buf = io.BytesIO()
    task.download_chunk(2, buf, quality="compressed")
    (tmp_path / "c.mp4").write_bytes(buf.getvalue())
    assert [frame_index(j, 20) for j in video.jpeg_frames(tmp_path / "c.mp4", "c.mp4", 90)] == [16, 17, 18, 19]
    buf = io.BytesIO()
    task.download_chunk(1, buf, quality="original")
    assert buf.getvalue()[4:8] == b"ftyp"


def test_video_step_and_range(sdk, tmp_path):
    path = make_video(tmp_path / "clip.avi", 25, size=(32, 32), codec="mjpeg")
    task = sdk.tasks.create_from_data(_spec("video step"), [path], data_params={
        "start_frame": 2, "stop_frame": 20, "frame_step": 3, "use_zip_chunks": True, "chunk_size": 4})
    assert task.size == len(range(2, 21, 3))
    assert task.data_compressed_chunk_type == "imageset"
    members = _chunk_members(task, 1, "compressed")
    assert [m[0] for m in members] == ["000000.jpeg", "000001.jpeg", "000002.jpeg"]
    assert [frame_index(m[1], 25) for m in members] == [14, 17, 20]
    meta = task.get_meta()
    assert (meta.start_frame, meta.stop_frame, meta.frame_filter) == (2, 20, "step=3")
    assert frame_index(task.get_frame(2, quality="compressed").read(), 25) == 8


def test_archive_and_sorting(sdk, tmp_path):
    src = make_images(tmp_path / "src", 11, size=(20, 10))
    archive = tmp_path / "pack.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i, p in enumerate(src):
            zf.write(p, f"sub/dir{i % 2}/frame{i}.png")
    task = sdk.tasks.create_from_data(_spec("archive"), [archive], data_params={"sorting_method": "natural"})
    names = [f.name for f in task.get_meta().frames]
    assert names == sorted(names, key=lambda n: (n.split("/")[1], int(n.rsplit("frame", 1)[1][:-4])))
    assert names[0] == "sub/dir0/frame0.png" and names[5] == "sub/dir0/frame10.png"
    assert task.size == 11


def test_share_and_predefined(stack, sdk, tmp_path):
    make_images(stack.share / "set1", 4, size=(30, 20))
    make_images(stack.share / "set1" / "skip", 2, size=(30, 20))
    task = sdk.tasks.create_from_data(_spec("share"), ["set1/"], resource_type=ResourceType.SHARE,
                                      data_params={"server_files_exclude": ["set1/skip/"]})
    assert [f.name for f in task.get_meta().frames] == [f"set1/img_{i:03d}.png" for i in range(4)]
    assert task.get_meta().storage == "share"

    paths = make_images(tmp_path, 4, size=(8, 8))
    order = [paths[2], paths[0], paths[3], paths[1]]
    task = sdk.tasks.create_from_data(_spec("predefined"), order, data_params={"sorting_method": "predefined"})
    assert [f.name for f in task.get_meta().frames] == [p.name for p in order]


def test_remote_files(sdk, tmp_path):
    import functools
    import http.server
    import threading
    make_images(tmp_path / "www", 3, size=(12, 12))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "www"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        urls = [f"{base}/img_{i:03d}.png" for i in range(3)]
        task = sdk.tasks.create_from_data(_spec("remote"), urls, resource_type=ResourceType.REMOTE)
        assert task.size == 3
        assert task.get_frame(1, quality="original").read() == (tmp_path / "www" / "img_001.png").read_bytes()
    finally:
        server.shutdown()


@pytest.mark.parametrize("name,codec,rotate,size", [
    ("clip.mkv", "libx264", None, (64, 48)),
    ("clip.webm", "libaom-av1", None, (64, 48)),
    ("clip.mov", "libx264", None, (64, 48)),
    ("turned.mp4", "libx264", 90, (48, 64)),
])
def test_video_containers_and_rotation(sdk, tmp_path, name, codec, rotate, size):
    path = make_video(tmp_path / name, 12, size=(64, 48), codec=codec, rotate=rotate)
    task = sdk.tasks.create_from_data(_spec(name), [path])
    assert task.size == 12
    frame = task.get_meta().frames[0]
    assert (frame.width, frame.height) == size
    image = Image.open(task.get_frame(11, quality="compressed"))
    assert image.size == size
    assert frame_index(task.get_frame(11, quality="compressed").read(), 12) == 11


def test_image_formats_and_tar(sdk, tmp_path):
    formats = {"a.jpg": "JPEG", "b.png": "PNG", "c.bmp": "BMP", "d.webp": "WEBP", "e.tiff": "TIFF", "f.gif": "GIF"}
    paths = []
    for i, (name, fmt) in enumerate(formats.items()):
        image = Image.new("RGB", (24, 16), COLORS[i])
        image.save(tmp_path / name, format=fmt, **({"lossless": True} if fmt == "WEBP" else {}))
        paths.append(tmp_path / name)
    task = sdk.tasks.create_from_data(_spec("formats"), paths)
    assert [f.name for f in task.get_meta().frames] == list(formats)
    for n in range(len(formats)):
        image = Image.open(task.get_frame(n, quality="compressed"))
        assert image.size == (24, 16) and index_of_color(image.convert("RGB").getpixel((3, 3))) == n
    # TIFF originals are re-encoded (PNG), the others are the uploaded bytes
    assert task.get_frame(0, quality="original").read() == paths[0].read_bytes()
    assert Image.open(task.get_frame(4, quality="original")).format == "PNG"

    import tarfile
    archive = tmp_path / "nested.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        for i, p in enumerate(paths[:4]):
            tf.add(p, f"top/level{i % 2}/x{i}{p.suffix}")
    task = sdk.tasks.create_from_data(_spec("tar"), [archive])
    assert [f.name for f in task.get_meta().frames] == [
        "top/level0/x0.jpg", "top/level0/x2.bmp", "top/level1/x1.png", "top/level1/x3.webp"]


def test_image_options(sdk, tmp_path, stack):
    paths = make_images(tmp_path, 10, size=(16, 16))
    task = sdk.tasks.create_from_data(_spec("step"), paths,
                                      data_params={"start_frame": 1, "stop_frame": 8, "frame_step": 3})
    meta = task.get_meta()
    assert [f.name for f in meta.frames] == ["img_001.png", "img_004.png", "img_007.png"]
    assert (meta.start_frame, meta.stop_frame, meta.frame_filter, task.size) == (1, 7, "step=3", 3)

    task = sdk.tasks.create_from_data(_spec("mapping"), paths[:5], data_params={
        "job_file_mapping": [["img_003.png", "img_000.png"], ["img_004.png"], ["img_001.png", "img_002.png"]]})
    assert [f.name for f in task.get_meta().frames] == [
        "img_003.png", "img_000.png", "img_004.png", "img_001.png", "img_002.png"]
    assert sorted((j.start_frame, j.stop_frame) for j in task.get_jobs()) == [(0, 1), (2, 2), (3, 4)]

    task = sdk.tasks.create_from_data(_spec("random"), paths, data_params={"sorting_method": "random"})
    assert sorted(f.name for f in task.get_meta().frames) == [p.name for p in paths]

    manifest = tmp_path / "manifest.jsonl"
    order = ["img_002", "img_000", "img_001"]
    manifest.write_text('{"version":"1.1"}\n{"type":"images"}\n' + "".join(
        f'{{"name":"{n}","extension":".png","width":16,"height":16}}\n' for n in order))
    task = sdk.tasks.create_from_data(_spec("manifest"), paths[:3] + [manifest],
                                      data_params={"sorting_method": "predefined"})
    # the SDK sends upload_file_order (which lists the manifest too): the manifest is not a frame
    assert task.size == 3

    for p in paths[:4]:
        (stack.share / "copy").mkdir(exist_ok=True)
        (stack.share / "copy" / p.name).write_bytes(p.read_bytes())
    task = sdk.tasks.create_from_data(_spec("copy"), ["copy/"], resource_type=ResourceType.SHARE,
                                      data_params={"copy_data": True, "filename_pattern": "*_00[12].png"})
    assert [f.name for f in task.get_meta().frames] == ["copy/img_001.png", "copy/img_002.png"]
    assert task.get_meta().storage == "local"


def test_video_originals_by_exact_seek(sdk, tmp_path):
    from workers.media import video
    path = make_video(tmp_path / "long.mp4", 26, size=(64, 48))
    task = sdk.tasks.create_from_data(_spec("originals", segment_size=9), [path],
                                      data_params={"chunk_size": 4, "start_frame": 1, "frame_step": 2})
    assert task.size == 13  # source frames 1, 3, …, 25
    for n in (0, 6, 12):
        assert frame_index(task.get_frame(n, quality="original").read(), 26) == 1 + 2 * n
    buf = io.BytesIO()
    task.download_chunk(2, buf, quality="original")
    (tmp_path / "c2.mp4").write_bytes(buf.getvalue())
    decoded = [frame_index(j, 26) for j in video.jpeg_frames(tmp_path / "c2.mp4", "c2.mp4", 90)]
    assert decoded == [17, 19, 21, 23]
    job = sorted(task.get_jobs(), key=lambda j: j.start_frame)[1]
    assert (job.start_frame, job.stop_frame) == (5, 12)  # overlap 5 → min(5, 9 // 2) = 4; job chunk 1 = 9…12
    (_, response) = sdk.api_client.jobs_api.retrieve_data(job.id, type="chunk", index=1, quality="original",
                                                          _parse_response=False)
    (tmp_path / "j1.mp4").write_bytes(response.data)
    assert [frame_index(j, 26) for j in video.jpeg_frames(tmp_path / "j1.mp4", "j1.mp4", 90)] == [19, 21, 23, 25]


def test_project_preview_and_tus_through_the_sdk(sdk, tmp_path):
    from cvat_sdk.core.uploading import DataUploader
    project = sdk.projects.create(models.ProjectWriteRequest(name="p", labels=[models.PatchedLabelRequest(name="a")]))
    assert Image.open(project.get_preview()).format == "JPEG"  # placeholder while empty
    task = sdk.tasks.create(models.TaskWriteRequest(name="tus", project_id=project.id))
    paths = make_images(tmp_path, 3, size=(40, 30))
    url = sdk.api_map.make_endpoint_url(task.api.create_data_endpoint.path, kwsub={"id": task.id})
    # every file above 10 bytes goes through TUS, as files above 100 MiB do by default
    response = DataUploader(sdk, max_request_size=10).upload_files(url, paths, image_quality=70)
    import json
    sdk.wait_for_completion(json.loads(response.data)["rq_id"])
    task.fetch()
    assert task.size == 3
    assert [f.name for f in task.get_meta().frames] == [p.name for p in paths]
    assert task.get_frame(2, quality="original").read() == paths[2].read_bytes()
    preview = Image.open(project.get_preview())
    assert preview.size == (40, 30) and index_of_color(preview.getpixel((5, 5))) == 0


def test_ground_truth_job_from_validation_params(sdk, tmp_path):
    paths = make_images(tmp_path, 8, size=(16, 16))
    task = sdk.tasks.create_from_data(_spec("gt", segment_size=4), paths, data_params={
        "validation_params": {"mode": "gt", "frame_selection_method": "random_uniform", "frame_count": 3,
                              "random_seed": 7}})
    jobs = task.get_jobs()
    gt = [j for j in jobs if j.type == "ground_truth"]
    assert len(gt) == 1 and gt[0].frame_count == 3
    assert sorted((j.start_frame, j.stop_frame) for j in jobs if j.type == "annotation") == [(0, 3), (4, 7)]
    task = sdk.tasks.create_from_data(_spec("gt manual"), paths, data_params={
        "validation_params": {"mode": "gt", "frame_selection_method": "manual",
                              "frames": ["img_006.png", "img_001.png"]}})
    (gt,) = [j for j in task.get_jobs() if j.type == "ground_truth"]
    layout = sdk.api_client.tasks_api.retrieve_validation_layout(task.id)[0]
    assert layout.validation_frames == [1, 6] and gt.frame_count == 2
    from cvat_sdk.core.exceptions import BackgroundRequestException
    with pytest.raises(BackgroundRequestException, match="frame_count"):
        sdk.tasks.create_from_data(_spec("gt bad"), paths, data_params={
            "validation_params": {"mode": "gt", "frame_selection_method": "random_uniform", "frame_count": 99}})



def test_original_chunks_are_composed_and_each_original_is_kept_once(stack, sdk, tmp_path):
    """Original chunks are plans over the kept files, not copies; what no chunk
    reads (the uploaded archive once unpacked, frames left out by the step)
    is not kept. The chunks still read as the zips the client expects."""
    src = make_images(tmp_path / "src", 6, size=(20, 10))
    archive = tmp_path / "pack.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in src:
            zf.write(p, f"in/{p.name}")
    loose = make_images(tmp_path / "loose", 2, size=(20, 10), prefix="loose_")
    task = sdk.tasks.create_from_data(_spec("kept once"), [archive, *loose], data_params={"frame_step": 2})
    names = [f.name for f in task.get_meta().frames]
    assert names == ["in/img_000.png", "in/img_002.png", "in/img_004.png", "loose_000.png"]
    data = stack.storage / "tasks" / str(task.id) / "data"
    assert (data / "chunks" / "original" / "0.zip.plan").is_file()
    assert not (data / "chunks" / "original" / "0.zip").exists()
    kept = sorted(str(p.relative_to(data)) for p in data.rglob("*.png"))
    assert kept == ["extracted/0/in/img_000.png", "extracted/0/in/img_002.png", "extracted/0/in/img_004.png",
                    "upload/loose_000.png"]
    assert not list(data.rglob("pack.zip"))
    out = io.BytesIO()
    task.download_chunk(0, out, quality="original")
    with zipfile.ZipFile(out) as zf:
        assert zf.testzip() is None
        bodies = [zf.read(i) for i in zf.infolist()]
    expected = [p.read_bytes() for p in (src[0], src[2], src[4], loose[0])]
    assert bodies == expected
