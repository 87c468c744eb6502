import keras
import pytest


def pytest_generate_tests(metafunc):
    if "spec" in metafunc.fixturenames and metafunc.cls is not None:
        specs = metafunc.cls.SPECS
        metafunc.parametrize("spec", specs, ids=[s.test_id for s in specs])


def pytest_collection_modifyitems(config, items):
    # Slow tests first: parallel workers then pick the long ones up early
    # and finish together instead of waiting on one that started last.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
    backend = keras.backend.backend()
    for item in items:
        marker = item.get_closest_marker("backends")
        if marker is not None and backend not in marker.args:
            item.add_marker(
                pytest.mark.skip(
                    reason=f"runs on {', '.join(marker.args)} only; "
                    f"the backend is {backend}"
                )
            )


@pytest.fixture(autouse=True)
def _reset_keras_state():
    keras.utils.clear_session(free_memory=False)
    keras.utils.set_random_seed(0)
    yield
    keras.config.set_dtype_policy("float32")
