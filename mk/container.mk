# The shop's container image (Containerfile): what stage 3 (ECS Fargate, `make lab STAGE=3`)
# and stage 4 (k3s) run. Docs: tests/container/README.md.
SHOP_IMAGE_REPO ?= localhost/shoplab/shop
.PHONY: app-image test-container
TEST_TARGETS += test-container

app-image: image ## build the shop's container image offline from the local base image (cached)
	tools/build-app-image.sh

test-container: app-image ## run the image read-only as uid 10001 next to real Postgres and Redis (~1-4 min)
	SHOP_IMAGE=$(SHOP_IMAGE_REPO):latest $(PY) -m pytest -q -p no:cacheprovider tests/container

# `make lab STAGE=3` runs two containers of this image as its app hosts (mk/lab.mk)
lab: $(if $(filter 3,$(STAGE)),app-image)
