"""Helpers the tests share: plain functions, classes and constants, never fixtures.

What lives here, one module per concern: `ports` (free ports, a share per xdist worker),
`web` (JSON API login, an app served in a thread, a page's CSRF token), `data` (the seeded
demo data: row counts, slots ahead, a post's first pull, booked appeals), `pushes` (records
as a post pushes them), `appeals` (appeals taken in work and closed at central through its
pages), `chat`, `fhir`, `signing` and `cms` (protocol PDFs, OpenSSL's view of a CMS
signature), `provisioning`, `queue` and `queue_plans`, `scaled` (PostgreSQL, Redis, two
centrals), `cluster` (central and posts as real processes), `relay`, `browser`,
`call_browser` and `pagecheck` (Debian chromium), `timing` (wait for a condition, move a
clock by hand).

The rule: a test module imports its helpers from here, never from a conftest.py (those hold
fixtures and hooks only) nor from another test module (tests/unit/test_test_layout.py checks
it). A helper used inside one folder only may stay there (tests/hardware/support.py,
tests/contract/helpers.py, tests/kiosk/samples.py, ...).
"""
