import numpy as np
import pytest
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

from lstmcast.scale import Scaler, fit_scaler

DATA = np.random.default_rng(0).normal(5, 2, size=(50, 3))


@pytest.mark.parametrize(
    ("kind", "reference"), [("standard", StandardScaler), ("minmax", MinMaxScaler), ("robust", RobustScaler)]
)
def test_scalers_match_scikit_learn(kind: str, reference) -> None:
    ours = fit_scaler(kind, DATA)
    np.testing.assert_allclose(ours.transform(DATA), reference().fit_transform(DATA), rtol=1e-5, atol=1e-5)


def test_inverse_target_undoes_the_target_column() -> None:
    scaler = fit_scaler("standard", DATA)
    np.testing.assert_allclose(scaler.inverse_target(scaler.transform(DATA)[:, 0]), DATA[:, 0], rtol=1e-5)


def test_a_constant_column_is_centred_not_divided_by_zero() -> None:
    data = np.column_stack([DATA[:, 0], np.full(50, 7.0)])
    scaled = fit_scaler("standard", data).transform(data)
    assert np.all(np.isfinite(scaled)) and np.all(scaled[:, 1] == 0)


def test_statistics_round_trip_through_plain_json_types() -> None:
    scaler = fit_scaler("robust", DATA)
    again = Scaler.from_dict(scaler.to_dict())
    assert again.kind == "robust"
    np.testing.assert_array_equal(again.center, scaler.center)
    np.testing.assert_array_equal(again.scale, scaler.scale)
