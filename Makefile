# faplink: `make demo` and `make test` set everything up on a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
PACKAGES := faplink i18n web runtime enrolment protocol_signatures sync domain central node hardware provisioning kiosk_ui

.PHONY: demo test test-fast lint i18n bench bench-queue bench-fleet clean system-deps

demo: $(VENV)/.installed
	$(BIN)/faplink demo

# Parallel workers (pytest-xdist): most tests wait on real processes, browsers and sockets,
# so more workers than cores finish sooner; `worksteal` evens out the long fault tests.
TEST_WORKERS ?= 4
PYTEST := $(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist worksteal

test: $(VENV)/.installed-test system-deps
	$(PYTEST)

# The quick local loop: everything but real browsers and fault suites.
test-fast: $(VENV)/.installed-test
	$(PYTEST) -m "not slow and not browser"

lint: $(VENV)/.installed-test
	$(BIN)/ruff check $(PACKAGES) tests
	$(BIN)/mypy $(PACKAGES)
	$(BIN)/lint-imports

# Re-extract the Russian msgids, merge them into the English catalog, compile.
i18n: $(VENV)/.installed-test
	bash faplink/translations/update.sh

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PIP) install -q -e '.[test,kiosk]'
	touch $@

# Debian packages the tests drive for real: chromium (Playwright's browser),
# poppler-utils (pdftotext, pdfsig), libnss3-tools (certutil, for pdfsig's
# trust store), faketime (a kiosk whose clock is wrong), ffmpeg (test video
# for the loopback call check), sip-tester (sipp, the SIP peer of the phone
# gateway), iptables (packet loss on a shaped link), systemd and cage
# (`systemd-analyze verify` of the kiosk's units, whose window runs in cage), and
# libengine-gost-openssl (OpenSSL's GOST engine: GOST R 34.10-2012 signatures made at
# central and checked at the post; a kiosk needs it too). Installed only
# when missing and when we may (root); otherwise the tests say what is missing.
system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v pdftotext >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	command -v certutil >/dev/null 2>&1 || missing="$$missing libnss3-tools"; \
	command -v faketime >/dev/null 2>&1 || missing="$$missing faketime"; \
	command -v ffmpeg >/dev/null 2>&1 || missing="$$missing ffmpeg"; \
	command -v sipp >/dev/null 2>&1 || missing="$$missing sip-tester"; \
	command -v iptables >/dev/null 2>&1 || missing="$$missing iptables"; \
	command -v cage >/dev/null 2>&1 || missing="$$missing cage"; \
	command -v systemd-analyze >/dev/null 2>&1 || missing="$$missing systemd"; \
	ls /usr/lib/*/engines-3/gost.so >/dev/null 2>&1 || missing="$$missing libengine-gost-openssl"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing Debian packages:$$missing (install them as root)"; exit 1; \
	  fi; \
	fi

bench/node_modules/.installed: bench/package.json bench/package-lock.json
	npm --prefix bench ci --no-audit --no-fund
	touch $@

bench/.venv-morango/.installed: bench/requirements-morango.txt
	$(PYTHON) -m venv bench/.venv-morango
	bench/.venv-morango/bin/python -m pip install -q -r bench/requirements-morango.txt
	touch $@

# The consultant's queue at 100,000 and 1,000,000 appeals, on the local PostgreSQL
# (FAPLINK_BENCH_PG, default postgresql://root@127.0.0.1:5432/postgres) and SQLite.
bench-queue: $(VENV)/.installed-test
	$(BIN)/python bench/queue_load.py

# A fleet of really enrolled, simulated posts (live links, sync rounds, pushes) against central
# on the local PostgreSQL and Redis (FAPLINK_BENCH_PG, FAPLINK_BENCH_REDIS): 200 posts on one
# gunicorn instance, then on two, then on one with the realtime gateway, the posts on the node's
# safety timer (bench/README.md; FLEET_ARGS, e.g. "--posts 1000").
bench-fleet: $(VENV)/.installed-test
	$(BIN)/python bench/fleet_load.py $(FLEET_ARGS)
	$(BIN)/python bench/fleet_load.py --instances 2 $(FLEET_ARGS)
	$(BIN)/python bench/fleet_load.py --gateway-workers 2 --safety-interval 300 $(FLEET_ARGS)

# Sync benchmarks against pouchdb-server and morango (bench/README.md); the
# shaped link needs root, network namespaces and iptables.
bench: $(VENV)/.installed bench/node_modules/.installed bench/.venv-morango/.installed bench-queue bench-fleet
	@command -v iptables >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iptables >/dev/null; } || true
	bash bench/run_all.sh

clean:
	rm -rf $(VENV) var demo-data
