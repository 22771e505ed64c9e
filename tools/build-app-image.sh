#!/usr/bin/env bash
# Builds the shop's container image (Containerfile) offline from the local Debian base image:
# localhost/shoplab/shop:<version> plus :latest. The version is `git describe` when a tag
# names the commit, else the app version from pyproject.toml (the tag pushed to stage 3's ECR,
# pulumi/README.md "Stage 3: the image"; what k8s/manifests.py expects), so re-running on the same tree is a cache hit: podman reuses every
# layer and the tag does not move. Prints the image reference on its last line.
#   IMAGE_REPO=... VERSION=... tools/build-app-image.sh
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=${IMAGE_REPO:-localhost/shoplab/shop}
BASE=${BASE_IMAGE:-localhost/shoplab-debian-systemd:bookworm}
APP_VERSION=$(python3 -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
# an exact tag (v0.1.0) wins; otherwise the pyproject version (ECR tags are immutable: bump it)
VERSION=${VERSION:-$(git describe --tags --exact-match 2>/dev/null | sed 's/^v//' || true)}
VERSION=${VERSION:-$APP_VERSION}
REVISION=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
SOURCE=$(git remote get-url origin 2>/dev/null || echo unknown)
# workers and threads baked into the image's default GUNICORN_CMD_ARGS: stage 3's shape
GUNICORN_SHAPE=$(PYTHONPATH=. python3 -c 'from capacity.shapes import gunicorn_args, shape; print(gunicorn_args(shape("3")))')
podman image exists "$BASE" || IMAGE="$BASE" tools/build-image.sh >&2
t0=$(date +%s)
# VERSION/REVISION/SOURCE are labels of the runtime stage only: a new commit re-runs the
# label layer, never the venv
podman build -q -f Containerfile --layers --format docker \
  --build-arg BASE_IMAGE="$BASE" --build-arg VERSION="$VERSION" --build-arg REVISION="$REVISION" \
  --build-arg SOURCE="$SOURCE" --build-arg GUNICORN_SHAPE="$GUNICORN_SHAPE" \
  -t "$REPO:$VERSION" -t "$REPO:latest" . 2>&1 >/dev/null | { grep -v "^debconf:" >&2 || true; }
echo "built $REPO:$VERSION in $(( $(date +%s) - t0 ))s ($(podman image inspect "$REPO:$VERSION" --format '{{.Size}}' | awk '{printf "%.0f MB", $1/1e6}'))" >&2
echo "$REPO:$VERSION"
