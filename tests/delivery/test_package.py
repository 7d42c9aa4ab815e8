"""The model package: SageMaker TF Serving layout, deterministic bytes, input checks."""

from __future__ import annotations

import os
import shutil
import tarfile

import numpy as np
import pytest
from conftest import sha256_of

from lstm_model.delivery.package import (
    archive_directory,
    check_model_name,
    extract_archive,
    package_model,
    sha256_file,
    version_dir,
)
from lstm_model.errors import PipelineInputError

MODEL = "lstm-forecaster"


def test_package_has_sagemaker_tfs_layout_and_loads(saved_model, package, tmp_path):
    import tensorflow as tf

    with tarfile.open(package) as tar:
        names = tar.getnames()
        infos = tar.getmembers()
        tar.extractall(tmp_path / "x", filter="data")
    assert names == sorted(names)
    assert all(name == MODEL or name.startswith(f"{MODEL}/3") for name in names)
    for member in ("saved_model.pb", "fingerprint.pb", "preprocessing.json", "assets"):
        assert f"{MODEL}/3/{member}" in names
    assert f"{MODEL}/3/variables/variables.index" in names
    assert any(n.startswith(f"{MODEL}/3/variables/variables.data-") for n in names)
    assert {(i.mtime, i.uid, i.gid, i.uname) for i in infos} == {(0, 0, 0, "")}

    # What SageMaker's TFS container unpacks must serve the same numbers as the model.
    serve = tf.saved_model.load(str(tmp_path / "x" / MODEL / "3")).signatures["serving_default"]
    batch = np.arange(8, dtype="float32").reshape(2, 4, 1)
    served = next(iter(serve(window=tf.constant(batch)).values())).numpy()
    np.testing.assert_allclose(served, saved_model[1].predict(batch, verbose=0), rtol=1e-6)


def test_package_checksum_is_deterministic(saved_model, package, tmp_path):
    copy = shutil.copytree(saved_model[0], tmp_path / "copy")
    for path in copy.rglob("*"):
        os.utime(path, (1_000_000, 1_000_000))  # different mtimes must not matter
    again = package_model(copy, MODEL, "3", tmp_path / "again")
    assert sha256_of(again) == sha256_of(package)
    assert sha256_of(package_model(copy, MODEL, 4, tmp_path / "v4")) != sha256_of(package)


@pytest.mark.parametrize(
    ("setup", "version", "match"),
    [
        (lambda d: d.mkdir(), 1, r"no saved_model.pb\). Export"),
        (lambda d: None, 1, "not a TensorFlow SavedModel"),
        (lambda d: shutil.copytree(d.parent.parent / "sm", d), "v1", "not a non-negative"),
    ],
    ids=["no-pb", "no-dir", "bad-version"],
)
def test_package_rejects_bad_input(saved_model, tmp_path, setup, version, match):
    shutil.copytree(saved_model[0], tmp_path / "sm")
    folder = tmp_path / "in" / "model"
    folder.parent.mkdir()
    setup(folder)
    with pytest.raises(PipelineInputError, match=match):
        package_model(folder, MODEL, version, tmp_path / "out")


def test_package_refuses_output_inside_savedmodel(saved_model, tmp_path):
    folder = shutil.copytree(saved_model[0], tmp_path / "sm")
    with pytest.raises(PipelineInputError, match="inside the SavedModel"):
        package_model(folder, MODEL, 1, folder / "out")


def test_version_folders_and_model_names_are_checked():
    assert version_dir(3) == version_dir("3") == version_dir(" 003 ") == "3"
    for bad in (True, "-1", "v3", "3.0", "٣"):
        with pytest.raises(PipelineInputError, match="numeric version folders"):
            version_dir(bad)
    assert check_model_name("lstm-forecaster_v2.1") == "lstm-forecaster_v2.1"
    for bad in ("", "-lead", "with space", "a/b", "x" * 129):
        with pytest.raises(PipelineInputError, match="cannot be used as a folder and S3 key"):
            check_model_name(bad)


def test_sha256_file_matches_hashlib(tmp_path):
    path = tmp_path / "blob"
    path.write_bytes(bytes(range(256)) * 9000)  # more than one 1 MiB chunk
    assert sha256_file(path) == sha256_of(path)


def test_a_folder_travels_as_deterministic_bytes_and_unpacks_inside_its_target(
    saved_model, tmp_path
):
    folder = saved_model[0]
    archive = archive_directory(folder)
    assert archive == archive_directory(folder)  # same folder, same bytes
    copy = extract_archive(archive, tmp_path / "copy")
    originals = sorted(p.relative_to(folder) for p in folder.rglob("*"))
    assert sorted(p.relative_to(copy) for p in copy.rglob("*")) == originals
    for rel in originals:
        if (folder / rel).is_file():
            assert (copy / rel).read_bytes() == (folder / rel).read_bytes()
