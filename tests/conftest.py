"""pytest options of the fastrnn test suite."""


def pytest_addoption(parser):
    parser.addoption(
        "--fuzz-long", nargs="?", type=int, const=5000, default=None, metavar="N",
        help="run N fuzz cases of each kind in tests/test_fuzz.py (default 5000) instead of "
             "the small default budget")
