"""A scripted rewording model for the goal-generation test: prefixes each sentence, keeping its facts."""


def respond(call):
    return {"reworded": "Just so you know: " + (call.field("sentence") or "")}
