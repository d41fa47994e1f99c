"""The only package that imports Celery: app, tasks, beat schedules, web receiver, CLI."""
