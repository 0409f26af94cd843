"""The online inference gateway as plain Python (no HTTP here; :mod:`.app` serves it).

:mod:`.slots` loads the slot table (champion, canary and its share, shadow, previous champion)
from the registry's aliases, each model checked against its registered sha256 and warmed up;
:mod:`.router` sends a machine to the canary or the champion by a sticky hash of its id;
:mod:`.features` reads its online features; :mod:`.scorer` scores them on the booster itself;
:mod:`.gateway` ties these together with the shadow mirror, the prediction log and
:mod:`.metrics`; :mod:`.discovery` tells CLIs where a running gateway listens.

Nothing is imported here, so the fast CLIs and the release code can import :mod:`.router` or
:mod:`.discovery` without loading XGBoost or MLflow.
"""
