"""Each DAG's doc_md links the ML view: the UI route of the plugin's navigation entry and the
section of the page the DAG's results show up in."""

from __future__ import annotations

import re

from tests.dag_fixtures import load_dagbag


def test_every_dag_links_the_ml_view_and_a_section_it_has():
    from ml_platform_airflow.ui.app import URL_PREFIX
    from ml_tasks.observability.ml_view import SECTIONS

    for dag_id, dag in load_dagbag().dags.items():
        assert "(/plugin/ml)" in dag.doc_md, dag_id
        sections = re.findall(rf"\({re.escape(URL_PREFIX)}/#(\w+)\)", dag.doc_md)
        assert sections and set(sections) <= set(SECTIONS), (dag_id, sections)
