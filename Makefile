# cdishim: make targets for people and CI. Run as root on Debian 12.

PYTHON ?= /usr/bin/python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: all deps deps-base install-dev demo test test-unit test-integration test-matrix test-deb deb image install uninstall bench proto lint clean

all: install-dev

# What the demo and the runtime need; `deps` adds the engines and tools of the tests.
deps-base:
	sh scripts/install-deps.sh base

deps:
	sh scripts/install-deps.sh test

# A venv on Debian's python3, seeing Debian's python3-* packages, with
# cdishim installed from this tree.
$(BIN)/cdishim: pyproject.toml setup.py bin/cdishim launcher/cdishim.c
	$(PYTHON) -m venv --system-site-packages $(VENV)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

install-dev: deps-base $(BIN)/cdishim

demo: install-dev
	sh demo/run.sh $(abspath $(BIN)/cdishim)

test: deps install-dev
	$(BIN)/python -m pytest -q tests

test-unit: deps install-dev
	$(BIN)/python -m pytest -q tests/unit

test-integration: deps install-dev
	$(BIN)/python -m pytest -q tests/integration

# Every CPython 3.9-3.13 found here (pyenv's and Debian's): a venv each, cdishim
# installed from this tree, the unit and runtime integration tests against it.
test-matrix: deps
	$(PYTHON) scripts/test-matrix.py

# build/deb/cdishim_<version>_<arch>.deb with dh-python (packaging/deb/).
deb:
	sh packaging/deb/build.sh

# build/image/cdishim-<version>.tar: a docker-archive of cdishim:<version>, bootstrapped
# offline from Debian packages with mmdebstrap (no base image), the .deb above in it.
image: deb
	sh scripts/build-image.sh

# Build the .deb, install it, run the demo through /usr/bin/cdishim, purge it.
test-deb: deps
	sh packaging/deb/test.sh

# From source, without a package: /usr/local on Debian (packaging/install.sh).
install:
	sh packaging/install.sh install

uninstall:
	sh packaging/install.sh uninstall

# ruff (a developer tool, from PyPI; settings in pyproject.toml).
lint: install-dev
	$(BIN)/pip install --quiet ruff
	$(BIN)/ruff check src tests bench

# Regenerate the device plugin API modules from their .proto.
proto:
	sh scripts/gen-proto.sh

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .hypothesis

bench: install-dev
	$(BIN)/python -m bench.run
