"""The in-process execution API of `maturity run`, serving only the API version its task runner speaks.

Under `dag.test()` every task talks to Airflow's execution API inside this process (a Cadwyn app). On its
first request Cadwyn builds the routes of every API version it knows (nine with Airflow 3.3: each a
copy of all routes with FastAPI's dependency analysis redone): 2.5 s of a 5.8 s unchanged re-run at
haderslev, paid again by every `maturity run`. The in-process client is the task runner of this same
installation; it sends one version (`API_VERSION` of the Task SDK), the newest the server knows. So the
embedded server here builds that version only (about a tenth of the work); requests for another version
would get 404, and none is made. Routes that exist only in older versions are left out with them.

A deployment (scheduler + api-server) is untouched: its workers talk to the real api-server, which
serves every version. If Airflow's or Cadwyn's internals differ from what this expects (another
release), nothing is changed and the stock server builds all versions as before.
"""

from __future__ import annotations

import copy
import logging

log = logging.getLogger(__name__)


def serve_client_version_only() -> bool:
    """Make the process's in-process execution API build the task runner's API version only.

    Call before the first task runs (Cadwyn builds its routes on the first request). Returns whether
    the server was set up so; False leaves Airflow's own behaviour (all versions) in place.
    """
    try:
        from airflow.sdk.api.datamodels._generated import API_VERSION
        from airflow.sdk.execution_time.supervisor import in_process_api_server
        from cadwyn import HeadVersion, Version, VersionBundle
        from cadwyn.route_generation import _DELETED_ROUTE_TAG, generate_versioned_routers
        from fastapi.routing import APIRoute

        app = in_process_api_server().app
        if getattr(app, "_cadwyn_initialized", True):
            return False  # already serving (a request was made): nothing to save any more
        bundle = app.versions
        if str(bundle.versions[0].value) != str(API_VERSION):
            log.info("In-process execution API: the client speaks %s, the newest server version is %s; "
                     "serving all versions", API_VERSION, bundle.versions[0].value)
            return False
        only = VersionBundle(HeadVersion(), Version(API_VERSION), api_version_var=bundle.api_version_var)
        head = copy.copy(app._latest_version_router)
        head.routes = [r for r in head.routes if not (isinstance(r, APIRoute) and _DELETED_ROUTE_TAG in r.tags)]
        generated = generate_versioned_routers(head, webhooks=app.webhooks, versions=only,
                                               api_version_parameter_name=app.api_version_parameter_name,
                                               api_version_location=app._api_version_location)
        endpoints, webhooks = generated.endpoints[API_VERSION], generated.webhooks[API_VERSION]
        add_routers, webhook_routers = app._add_versioned_routers, app._versioned_webhook_routers
    except Exception as exc:  # another Airflow/Cadwyn release: keep the stock server
        log.info("In-process execution API: serving all versions (%s: %s)", type(exc).__name__, exc)
        return False
    # Only now is the app changed, and an error from here on is raised: falling back to the stock build
    # after the routes were added would add them a second time.
    add_routers(endpoints, version=API_VERSION)
    webhook_routers[API_VERSION] = webhooks
    app._cadwyn_initialized = True
    return True
