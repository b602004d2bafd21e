"""What the engineer reads in the terminal: self-test lines, the enrolment summary, a progress bar."""

from __future__ import annotations

import json
from typing import Any

import click

from runtime.progress import ProgressBar

__all__ = ["dump", "print_checks", "print_summary", "print_status", "ProgressBar"]


def dump(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


_MARK = {"ok": "ОК ", "warn": "!! ", "fail": "XX ", "skip": "-- "}


def print_checks(result: dict[str, Any]) -> None:
    for check in result["checks"]:
        click.echo(f"  {_MARK.get(check['status'], '?? ')} {check['title']}: {check['detail']}")
    click.echo("Самопроверка пройдена" if result["ok"] else "Самопроверка НЕ пройдена")


def print_summary(summary: Any, check: dict[str, Any]) -> None:
    click.echo("")
    click.echo("Киоск зарегистрирован")
    click.echo(f"  Киоск:            {summary.node_id}")
    click.echo(f"  ФАП:              {summary.post_name or summary.organization_id}")
    click.echo(f"  Центр:            {summary.central_url}")
    click.echo(f"  Отпечаток ключа:  {summary.key_fingerprint}")
    if summary.via == "bundle":
        click.echo(f"  Ключ центра:      {summary.centre_key_fingerprint}")
        click.echo("                    (сверьте с отпечатком, который показал центр при выгрузке пакета)")
    feldshers = ", ".join(summary.feldshers) or "нет — вход на киоске пока невозможен"
    click.echo(f"  Фельдшеры:        {feldshers}")
    click.echo(f"  Записей на киоске: {summary.records}")
    click.echo(f"  Сертификат УЦ:    {'получен' if summary.ca_certificate else 'центр его ещё не выпустил'}")
    if summary.via == "token":
        if summary.synced:
            click.echo("  Синхронизация:    первая синхронизация завершена")
        else:
            click.echo(f"  Синхронизация:    НЕ завершена ({summary.sync_error}); продолжится при связи")
    else:
        click.echo("  Синхронизация:    пройдёт сама, когда появится связь с центром")
        click.echo("  Файл пакета содержит ключ киоска и данные поста: удалите его с флешки.")
    if summary.replaced_dir:
        left = "неизвестно" if summary.unsent_left < 0 else summary.unsent_left
        click.echo(f"  Прежние данные:   перенесены в {summary.replaced_dir} (не отправлено записей: {left})")
    click.echo("")
    print_checks(check)


def print_status(data: dict[str, Any]) -> None:
    """`provision status` for a person (node_status's dict)."""
    sync, queues = data["sync"], data.get("queues", {})
    click.echo(f"Киоск {data['node_id']} — {data['post'] or data['organization_id']}")
    click.echo(f"  Центр: {data['central_url']}; ключ {data['key_fingerprint']}")
    click.echo(f"  Зарегистрирован: {data['enrolled_at'] or '—'} ({data['enrolled_via'] or '—'})")
    click.echo(
        f"  Синхронизация: {sync['state']}, последняя успешная {sync['last_success'] or 'никогда'}"
        + (f"; ошибка: {sync['last_error']}" if sync.get("last_error") else "")
    )
    if queues:
        click.echo(
            f"  Очередь: записей {queues['records']} (экстренных {queues['emergency']}), "
            f"файлов к отправке {queues['blobs_up']}, к получению {queues['blobs_down']}"
        )
    versions = data["versions"]
    click.echo(
        f"  Версии: программа {versions['software']}, схема {versions['schema']}, "
        f"протокол {versions['protocol']}"
    )
    if data["self_test"]:
        click.echo(f"  Самопроверка от {data['self_test']['at']}:")
        print_checks(data["self_test"])
    else:
        click.echo("  Самопроверка ещё не запускалась: faplink provision check")
