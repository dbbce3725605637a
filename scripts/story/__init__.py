"""The story of Tween, shown: the real bot played through the fake Discord and fake fal, every message it sent
recorded, and rendered as pictures in Discord's style (`python -m scripts.story`, `make story`).

record.py keeps what the fake Discord saw; world.py starts the fakes and the bot as the e2e tests do; play.py is
how a member acts; member.py, moderator.py and operator.py are the story; markdown.py, html.py and pages.py render
it; transcript.py writes it down; shots.py takes the screenshots with headless Chromium."""
