"""The Swedish web pages: server-rendered with Jinja2 from the same app and the same services as
the JSON API. Routes here parse forms, call one service and render a template."""
