"""Builds the local-model cassettes: ``python providers/huggingface/tests/make_artifact_cassettes.py``.

Writes the two fixture model directories (``data/local_model_v1``, ``data/local_model_v2``)
and ``cassettes/artifacts/*.yaml``. The output is committed; re-run after editing a
scenario rather than editing the YAML.
"""

import base64
import json
import os
import shutil
import tempfile
from pathlib import Path

import yaml
from huggingface_hub.utils.sha import git_hash

from hostkit import DeploymentSpec
from hostkit.adapters import tree_sha256

HERE = Path(__file__).parent
OUT = HERE / "cassettes" / "artifacts"
DATA = HERE / "data"
HUB = "https://huggingface.co"
API = "https://api.endpoints.huggingface.cloud/v2"
NS = "hostkit-org"
NAME = "qwen-tuned"
REPO = f"{NS}/hostkit-{NAME}"
E = f"{API}/endpoint/{NS}"
URL = "https://r3k9m2x7w4z1b8c6.us-east-1.aws.endpoints.huggingface.cloud"
INIT = "0f3a1c5e7b9d2f4a6c8e0b1d3f5a7c9e1b3d5f7a"
C1 = "7d2e9b4c1a8f3e6d5c0b9a8e7f6d5c4b3a2e1f0d"
C2 = "b8c1d4e7f0a3b6c9d2e5f8a1b4c7d0e3f6a9b2c5"
HEADER_NOTE = """# Wire format: the Hugging Face Hub HTTP API as huggingface_hub 2.4's HfApi sends and parses
# it: whoami (GET /api/whoami-v2, hf_api.py _inner_whoami), create_repo (POST /api/repos/create
# with name/organization/visibility), list_repo_refs (GET /api/models/{repo}/refs, parsed
# into GitRefs), model_info at a revision (GET /api/models/{repo}/revision/{sha}, ModelInfo with
# private and siblings), preupload (POST /api/models/{repo}/preupload/main, _commit_api.py
# _fetch_upload_modes: files[path, sample, size] -> files[path, uploadMode, shouldIgnore, oid]),
# commit (POST /api/models/{repo}/commit/main, the NDJSON of _prepare_commit_payload: a header
# line with summary/description/parentCommit, then file/deletedFile lines; answered with
# commitOid/commitUrl as _send_commit reads them into CommitInfo) and create_tag (POST
# /api/models/{repo}/tag/{revision}). The fixture model is three small text files, which the
# Hub's preupload answers as "regular" (inlined base64 in the commit; no LFS/Xet transfer).
# Endpoints: the Inference Endpoints API v2 as in ../endpoints/*.yaml (create_inference_endpoint
# body with model.repository and model.revision; objects parsed by InferenceEndpoint.from_raw).
# Error bodies are the Hub's {"error": ...} shape. Written by hand in the format vcrpy records
# (no public recordings exist); test_huggingface_artifacts.py replays them strictly through
# hostkit, which sends every Hub request through HfApi itself. Credentials appear only as
# REDACTED.
"""

MODEL_V1 = {
    "config.json": '{"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",'
    ' "hidden_size": 896, "num_hidden_layers": 24}\n',
    "tokenizer_config.json": '{"model_max_length": 32768, "eos_token": "<|im_end|>"}\n',
    "vocab.txt": "<|im_start|>\n<|im_end|>\nhello\nworld\n",
}
MODEL_V2 = {
    "config.json": MODEL_V1["config.json"],
    "tokenizer_config.json": '{"model_max_length": 8192, "eos_token": "<|im_end|>"}\n',
    "merges.txt": "#version: 0.2\nh e\nl l\n",
}


def write_model(folder: Path, files: dict[str, str]) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_bytes(text.encode())


def tag_of(folder: Path) -> str:
    return f"hostkit-{tree_sha256(folder)[:16]}"


def fingerprint_of(folder: Path) -> str:
    """The fingerprint of the spec with model './model' holding ``folder``'s files (it
    covers a local model's content)."""
    with tempfile.TemporaryDirectory() as work:
        shutil.copytree(folder, Path(work) / "model")
        here = os.getcwd()
        os.chdir(work)
        try:
            return spec().fingerprint()
        finally:
            os.chdir(here)


def spec() -> DeploymentSpec:
    return DeploymentSpec(
        provider="huggingface",
        name=NAME,
        model="./model",
        instance="nvidia-l4",
        region="aws/us-east-1",
    )


MESSAGES = {
    200: "OK",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
}


def ix(method, uri, status, body, *, req=None, ndjson=None, rid=None):
    reqh = {"authorization": ["REDACTED"]}
    request_body = ""
    if req is not None:
        reqh["content-type"] = ["application/json"]
        request_body = json.dumps(req)
    if ndjson is not None:
        reqh["content-type"] = ["application/x-ndjson"]
        request_body = "".join(json.dumps(item) + "\n" for item in ndjson)
    resh = {"content-type": ["application/json"], "date": ["Mon, 07 Dec 2026 14:00:00 GMT"]}
    if rid:
        resh["x-request-id"] = [rid]
    return {
        "request": {"method": method, "uri": uri, "body": request_body, "headers": reqh},
        "response": {
            "status": {"code": status, "message": MESSAGES[status]},
            "headers": resh,
            "body": {"string": body if isinstance(body, str) else json.dumps(body)},
        },
    }


def write(name, what, interactions):
    text = (
        f"# {name}: {what}\n#\n"
        + HEADER_NOTE
        + yaml.safe_dump(
            {"version": 1, "interactions": interactions},
            sort_keys=False,
            width=100000,
            allow_unicode=True,
        )
    )
    (OUT / f"{name}.yaml").write_text(text)


# -- Hub exchanges ------------------------------------------------------------------------
def create_repo(status=200, namespace=NS):
    # create_repo(repo_type=None) sends no "type": the Hub's default is a model repo
    req = {"name": f"hostkit-{NAME}", "organization": namespace, "visibility": "private"}
    if status == 200:
        body = {"url": f"{HUB}/{namespace}/hostkit-{NAME}", "name": f"{namespace}/hostkit-{NAME}"}
    elif status == 409:
        body = {"error": "You already created this model repo", "url": f"{HUB}/{REPO}"}
    else:
        body = {
            "error": f'You don\'t have the rights to create a model under the namespace "{namespace}"'
        }
    return ix("POST", f"{HUB}/api/repos/create", status, body, req=req, rid="Root=1-hk-create")


def refs(head, tags=(), repo=REPO):
    body = {
        "branches": [{"name": "main", "ref": "refs/heads/main", "targetCommit": head}],
        "converts": [],
        "tags": [{"name": t, "ref": f"refs/tags/{t}", "targetCommit": c} for t, c in tags],
    }
    return ix("GET", f"{HUB}/api/models/{repo}/refs", 200, body)


def model_info(sha, files, *, private=True):
    body = {
        "_id": "6755a0c1e4b0a1b2c3d4e5f6",
        "id": REPO,
        "modelId": REPO,
        "author": NS,
        "sha": sha,
        "lastModified": "2026-12-07T14:00:00.000Z",
        "createdAt": "2026-12-07T13:59:58.000Z",
        "private": private,
        "disabled": False,
        "gated": False,
        "downloads": 0,
        "likes": 0,
        "tags": ["region:us"],
        "siblings": [{"rfilename": f} for f in files],
        "spaces": [],
        "usedStorage": 1519,
    }
    return ix("GET", f"{HUB}/api/models/{REPO}/revision/{sha}", 200, body)


def preupload(name, content, remote=None):
    data = content.encode()
    req = {
        "files": [
            {"path": name, "sample": base64.b64encode(data[:512]).decode(), "size": len(data)}
        ]
    }
    answer = {"path": name, "uploadMode": "regular", "shouldIgnore": False}
    if remote is not None:
        answer["oid"] = git_hash(remote.encode())
    body = {"files": [answer], "commitOid": INIT}
    return ix("POST", f"{HUB}/api/models/{REPO}/preupload/main", 200, body, req=req)


def commit(folder, parent, lines, oid):
    header = {
        "key": "header",
        "value": {
            "summary": tag_of(folder),
            "description": "uploaded by hostkit from a local directory"
            f" (tree sha256 {tree_sha256(folder)})",
            "parentCommit": parent,
        },
    }
    return ix(
        "POST",
        f"{HUB}/api/models/{REPO}/commit/main",
        200,
        {"success": True, "commitOid": oid, "commitUrl": f"{HUB}/{REPO}/commit/{oid}"},
        ndjson=[header, *lines],
    )


def add(name, content):
    encoded = base64.b64encode(content.encode()).decode()
    return {"key": "file", "value": {"content": encoded, "path": name, "encoding": "base64"}}


def tag(name, oid):
    return ix("POST", f"{HUB}/api/models/{REPO}/tag/{oid}", 200, {}, req={"tag": name})


# -- Endpoints exchanges --------------------------------------------------------------------
CATALOG = {
    "vendors": [
        {
            "name": "aws",
            "status": "available",
            "regions": [
                {
                    "name": "us-east-1",
                    "label": "N. Virginia",
                    "status": "available",
                    "computes": [
                        {
                            "id": "aws-us-east-1-nvidia-l4-x1",
                            "accelerator": "gpu",
                            "numAccelerators": 1,
                            "numCpus": 6,
                            "memoryGb": 22,
                            "gpuMemoryGb": 24,
                            "instanceType": "nvidia-l4",
                            "instanceSize": "x1",
                            "architecture": "L4",
                            "status": "available",
                            "pricePerHour": 0.8,
                            "quota": {"maxAccelerators": 4, "usedAccelerators": 0},
                        }
                    ],
                }
            ],
        }
    ]
}
TGI = {
    "tgi": {
        "url": "ghcr.io/huggingface/text-generation-inference:3.3.6",
        "healthRoute": "/health",
        "port": 80,
    }
}


def payload(revision, fingerprint):
    return {
        "compute": {
            "accelerator": "gpu",
            "instanceSize": "x1",
            "instanceType": "nvidia-l4",
            "scaling": {"maxReplica": 1, "minReplica": 1, "scaleToZeroTimeout": None},
        },
        "model": {
            "framework": "pytorch",
            "repository": REPO,
            "revision": revision,
            "image": TGI,
            "task": "text-generation",
        },
        "name": NAME,
        "provider": {"region": "us-east-1", "vendor": "aws"},
        "type": "authenticated",
        "tags": [f"hostkit-fp-{fingerprint}"],
    }


def endpoint(revision, fingerprint, state):
    p = payload(revision, fingerprint)
    running = state == "running"
    status = {
        "createdAt": "2026-12-07T14:00:05.000Z",
        "createdBy": {"id": "6634a1c2e0b1f3a2c4d5e6f7", "name": "hostkit-dev"},
        "updatedAt": "2026-12-07T14:06:00.000Z" if running else "2026-12-07T14:00:05.000Z",
        "updatedBy": {"id": "6634a1c2e0b1f3a2c4d5e6f7", "name": "hostkit-dev"},
        "message": "Endpoint is running" if running else "Endpoint waiting to be scheduled",
        "state": state,
        "readyReplica": 1 if running else 0,
        "targetReplica": 1,
        "private": None,
        "errorMessage": None,
    }
    if running:
        status["url"] = URL
    return {
        "accountId": None,
        "compute": {
            **p["compute"],
            "id": "aws-us-east-1-nvidia-l4-x1",
            "scaling": {**p["compute"]["scaling"], "measure": {"hardwareUsage": 80}},
        },
        "model": {**p["model"], "env": {}, "secrets": {}},
        "name": NAME,
        "provider": p["provider"],
        "type": "authenticated",
        "healthRoute": "/health",
        "tags": p["tags"],
        "cacheHttpResponses": False,
        "status": status,
    }


def before_create():
    return [
        ix("GET", f"{E}/{NAME}", 404, {"error": f"Endpoint {NAME} not found"}),
        ix("GET", f"{API}/provider/{NS}", 200, CATALOG),
    ]


def create_endpoint(revision, fingerprint):
    return [
        ix(
            "POST",
            E,
            200,
            endpoint(revision, fingerprint, "pending"),
            req=payload(revision, fingerprint),
        ),
        ix("GET", f"{E}/{NAME}", 200, endpoint(revision, fingerprint, "running")),
    ]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    v1, v2 = DATA / "local_model_v1", DATA / "local_model_v2"
    write_model(v1, MODEL_V1)
    write_model(v2, MODEL_V2)
    tag1, tag2 = tag_of(v1), tag_of(v2)
    fp1, fp2 = fingerprint_of(v1), fingerprint_of(v2)
    first = [
        *before_create(),
        create_repo(200),
        refs(INIT),
        model_info(INIT, [".gitattributes"]),
        *(preupload(n, MODEL_V1[n]) for n in sorted(MODEL_V1)),
        commit(v1, INIT, [add(n, MODEL_V1[n]) for n in sorted(MODEL_V1)], C1),
        tag(tag1, C1),
        *create_endpoint(C1, fp1),
    ]
    write(
        "deploy_first",
        "model='./model' (local_model_v1), first deploy: no endpoint; hardware checked; a new"
        " private repo (its initial commit holds .gitattributes only); each file preuploaded"
        " (regular); one commit with parentCommit = the initial commit; tagged; the endpoint"
        " created at revision = that commit; polled until running.",
        first,
    )
    write(
        "deploy_same",
        "the same directory deployed again after a teardown: the repo exists (409, exist_ok),"
        " its refs hold the content's tag, so nothing is uploaded; the endpoint is created at"
        " the tagged commit.",
        [*before_create(), create_repo(409), refs(C1, [(tag1, C1)]), *create_endpoint(C1, fp1)],
    )
    v1_files = [".gitattributes", *sorted(MODEL_V1)]
    remote = {n: MODEL_V1.get(n) for n in MODEL_V2}
    changed = [add(n, MODEL_V2[n]) for n in sorted(MODEL_V2) if MODEL_V2[n] != MODEL_V1.get(n)]
    write(
        "deploy_changed",
        "a changed directory (local_model_v2: tokenizer_config.json edited, vocab.txt removed,"
        " merges.txt added) after a teardown: refs have the old tag only; main's files read at"
        " its head; the preupload answers config.json with its unchanged oid (left out of the"
        " commit); the commit deletes vocab.txt and adds the two changed files on top of the"
        " old commit; a new tag; the endpoint pinned to the new commit.",
        [
            *before_create(),
            create_repo(409),
            refs(C1, [(tag1, C1)]),
            model_info(C1, v1_files),
            *(preupload(n, MODEL_V2[n], remote[n]) for n in sorted(MODEL_V2)),
            commit(v2, C1, [{"key": "deletedFile", "value": {"path": "vocab.txt"}}, *changed], C2),
            tag(tag2, C2),
            *create_endpoint(C2, fp2),
        ],
    )
    write(
        "forbidden",
        "the token may not create repos in the namespace: POST /api/repos/create answers 403;"
        " create_repo(exist_ok=True) then looks the repo up (GET /api/models/{repo}: 404) and"
        " raises the 403.",
        [
            *before_create(),
            create_repo(403),
            ix(
                "GET",
                f"{HUB}/api/models/{REPO}",
                404,
                {"error": "Repository not found"},
                rid="Root=1-hk-info",
            ),
        ],
    )
    write(
        "foreign",
        "a repo named hostkit-<name> that hostkit did not make: it exists (409), has no hostkit"
        " tag, and holds a README and weights: hostkit refuses before uploading anything.",
        [
            *before_create(),
            create_repo(409),
            refs(INIT),
            model_info(INIT, [".gitattributes", "README.md", "model.safetensors"]),
        ],
    )
    write(
        "whoami",
        "no namespace setting: upload() asks whoami-v2 for the user, then finds the content's"
        " tag in hostkit-dev/hostkit-<name> and uploads nothing.",
        [
            ix(
                "GET",
                f"{HUB}/api/whoami-v2",
                200,
                {
                    "type": "user",
                    "id": "6634a1c2e0b1f3a2c4d5e6f7",
                    "name": "hostkit-dev",
                    "fullname": "hostkit dev",
                    "isPro": False,
                    "canPay": True,
                    "orgs": [{"type": "org", "name": NS, "roleInOrg": "write"}],
                    "auth": {"type": "access_token", "accessToken": {"role": "write"}},
                },
            ),
            create_repo(409, namespace="hostkit-dev"),
            refs(C1, [(tag1, C1)], repo=f"hostkit-dev/hostkit-{NAME}"),
        ],
    )
    write(
        "public",
        "the repo exists (409) with no content tag and is public: hostkit uploads local models"
        " only to private repos, so it stops before uploading anything.",
        [
            *before_create(),
            create_repo(409),
            refs(INIT),
            model_info(INIT, [".gitattributes"], private=False),
        ],
    )
    write("nothing", "no request at all is expected.", [])
    print("ok", tag1, tag2, fp1, fp2)


if __name__ == "__main__":
    main()
