"""The trainer's Models pages: the training job, every model with its figures, one model beside the active
one.

Every value from outside goes through ``esc``.
"""
from __future__ import annotations

from typing import List, Optional, Sequence
from zoneinfo import ZoneInfo

from bot.console.pages import esc, page, stored_local
from bot.trained_models.figures import Row, compare, headline, intent_changes
from bot.trained_models.registry import Activation, Model
from bot.trained_models.training import Job

STAGES = {"starting": "Starting", "training": "Training the model", "evaluating": "Measuring the new model",
          "done": "Done", "failed": "Failed"}



def _hidden(csrf: str) -> str:
    return f'<input type="hidden" name="csrf" value="{esc(csrf)}">'


def _button(action: str, label: str, csrf: str, secondary: bool = False) -> str:
    return (f'<form class="inline" method="post" action="{esc(action)}">{_hidden(csrf)}<button type="submit"'
            f'{" class=secondary" if secondary else ""}>{esc(label)}</button></form>')


def _job_html(job: Optional[Job], zone: ZoneInfo, csrf: str) -> str:
    train = _button("/console/models/train", "Train a new model", csrf)
    if job is None:
        return (f"<h2>Training</h2><p>No model was trained from the console yet. Training takes a few "
                f"minutes at low priority; customers are answered meanwhile.</p>{train}")
    state = STAGES.get(job.stage, job.stage)
    when = (f"started by {esc(job.started_by)} {esc(stored_local(job.started_at, zone))}"
            + (f", ended {esc(stored_local(job.finished_at, zone))}" if job.finished_at else ""))
    result = ""
    if job.stage == "done" and job.model is not None:
        result = f' <a href="/console/models/{job.model}">Compare model {job.model} with the active one</a>'
    problem = f'<p class="error" role="alert">{esc(job.problem)}</p>' if job.problem else ""
    log = job.log_tail()
    return (f'<h2>Training</h2><p id="job-status" role="status">Job {job.id}: <strong>{esc(state)}</strong>, '
            f"{when}.{result}</p>"
            f"{problem}" + ("" if job.running else train)
            + (f"<details{' open' if job.running else ''}><summary>Log (last lines)</summary>"
               f'<pre class="log">{esc(log)}</pre></details>' if log else ""))


def _model_row(model: Model, active: Optional[Model], zone: ZoneInfo, csrf: str) -> str:
    is_active = active is not None and model.id == active.id
    action = ("<strong>answers now</strong>" if is_active else
              f'<a href="/console/models/{model.id}">Compare</a> '
              + _button(f"/console/models/{model.id}/activate", "Activate", csrf, secondary=True))
    source = model.commit or (model.data_hash[:12] and f"data {model.data_hash[:12]}") or "unknown"
    return (f"<tr><td>{model.id}</td><td>{esc(stored_local(model.trained_at, zone))}</td>"
            f"<td>{esc(model.trained_by)}</td><td><code>{esc(source)}</code></td><td><code>{esc(model.model_id[:12])}</code></td>"
            f"<td>{esc(headline(model.figures))}</td><td>{action}</td></tr>")


def models_page(models: Sequence[Model], active: Optional[Model], serving: Optional[Model],
                history: Sequence[Activation], job: Optional[Job], zone: ZoneInfo, name: str, csrf: str,
                notice: str = "", problem: str = "") -> str:
    parts = ["<h1>Models</h1>"]
    if notice:
        parts.append(f'<p class="notice" role="status">{esc(notice)}</p>')
    if problem:
        parts.append(f'<p class="error" role="alert">{esc(problem)}</p>')
    if active is not None:
        switching = (f"; this server still answers with model {serving.id} and switches within seconds"
                     if serving is not None and serving.id != active.id else "")
        parts.append(f"<p>Model {active.id} is active{switching}.</p>")
    parts.append(_job_html(job, zone, csrf))
    rows = "".join(_model_row(m, active, zone, csrf) for m in models)
    parts.append("<h2>All models</h2>" + (
        "<table><thead><tr><th>#</th><th>Trained</th><th>By</th><th>From</th><th>Rasa id</th><th>Figures</th>"
        f"<th></th></tr></thead><tbody>{rows}</tbody></table>" if rows else "<p>No model yet.</p>"))
    if len(history) > 1:
        parts.append(_button("/console/models/rollback", "Roll back to the model before", csrf,
                             secondary=True))
        parts.append("<h2>Activations</h2><ul>" + "".join(
            f"<li>{esc(stored_local(a.activated_at, zone))}: model {a.model.id} ({esc(a.kind)}) by "
            f"{esc(a.activated_by)}</li>" for a in history[:10]) + "</ul>")
    running = job is not None and job.running
    return page("Models", "".join(parts), name, csrf, refresh=5 if running else 0)


def _figure(value: Optional[float]) -> str:
    return "–" if value is None else f"{value:.3f}"


def _rows_html(rows: List[Row]) -> str:
    return "".join(
        f"<tr><td>{esc(r.measure)}</td><td>{_figure(r.old)}</td><td>{_figure(r.new)}</td>"
        f"<td>{'' if r.change is None else f'{r.change:+.3f}'}</td></tr>" for r in rows)


def comparison_page(model: Model, active: Optional[Model], zone: ZoneInfo, name: str, csrf: str) -> str:
    old = active.figures if active is not None else {}
    new = model.figures
    head = (f"<tr><th>Measure</th><th>Active (model {active.id})</th><th>Model {model.id}</th>"
            "<th>Change</th></tr>" if active is not None
            else "<tr><th>Measure</th><th></th><th>This model</th><th></th></tr>")
    table = f"<table><thead>{head}</thead><tbody>{_rows_html(compare(old, new))}</tbody></table>"
    better, worse = intent_changes(old, new)
    lists = ""
    columns = (f"<thead><tr><th>Intent (test set)</th><th>Active</th><th>Model {model.id}</th><th>Change</th>"
               "</tr></thead>")
    for title, rows in (("Better", better), ("Worse", worse)):
        lists += (f"<h2>{title}</h2>" + (f"<table>{columns}<tbody>{_rows_html(rows[:20])}</tbody></table>"
                                         if rows else "<p>No intent moved by 0.02 or more.</p>"))
    is_active = active is not None and active.id == model.id
    action = ("<p><strong>This model answers now.</strong></p>" if is_active else
              _button(f"/console/models/{model.id}/activate", f"Activate model {model.id}", csrf))
    not_measured = "" if new else "<p>This model has no figures (it was not trained from the console).</p>"
    trained = esc(stored_local(model.trained_at, zone))
    body = (f"<h1>Model {model.id}</h1><p class=note>Trained {trained} by "
            f"{esc(model.trained_by)} from <code>{esc(model.commit or model.data_hash[:12])}</code>; Rasa id "
            f"<code>{esc(model.model_id)}</code></p>{not_measured}{table}{lists}{action}"
            '<p><a href="/console/models">All models</a></p>')
    return page(f"Model {model.id}", body, name, csrf)
