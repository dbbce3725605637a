"""Discord's dark theme, closely enough for a screenshot (the client's own font, gg sans, is not free: Noto Sans
or Liberation Sans stands in)."""

CSS = """
* { box-sizing: border-box; }
body { margin: 0; background: #313338; color: #dbdee1; width: WIDTHpx;
  font: 16px/1.375 "gg sans", "Noto Sans", "Liberation Sans", "DejaVu Sans", Arial, sans-serif, "Noto Color Emoji"; }
.page { padding-bottom: 16px; }
.header { height: 48px; display: flex; align-items: center; padding: 0 16px; font-weight: 600; color: #f2f3f5;
  border-bottom: 1px solid #1f2023; box-shadow: 0 1px 0 rgba(4,4,5,.2); margin-bottom: 8px; }
.header .hash { color: #80848e; font-size: 22px; margin-right: 8px; font-weight: 400; }
.header .topic { color: #949ba4; font-weight: 400; font-size: 14px; margin-left: 12px; padding-left: 12px;
  border-left: 1px solid #3f4147; }
.caption { color: #949ba4; font-size: 13px; font-style: italic; padding: 10px 16px 2px 16px; }
.msg { display: flex; padding: 4px 48px 4px 16px; margin-top: 12px; position: relative; }
.msg.ephemeral { background: rgba(88,101,242,.07); border-left: 2px solid #5865f2; padding-left: 14px; }
.avatar { flex: 0 0 40px; height: 40px; border-radius: 50%; margin-right: 16px; display: flex; align-items: center;
  justify-content: center; color: #fff; font-weight: 700; font-size: 18px; margin-top: 2px; }
.bot-avatar { background: #5865f2; }
.body { min-width: 0; flex: 1; }
.reply { color: #b5bac1; font-size: 14px; margin: 0 0 2px 0; }
.reply b { color: #c9cdfb; font-weight: 500; }
.reply .cmd { color: #00a8fc; }
.meta { display: flex; align-items: center; gap: 6px; }
.name { color: #f2f3f5; font-weight: 500; }
.tag { background: #5865f2; color: #fff; font-size: 10px; font-weight: 600; border-radius: 3px; padding: 1px 4px;
  line-height: 15px; }
.time { color: #949ba4; font-size: 12px; margin-left: 2px; }
.edited { color: #949ba4; font-size: 10px; }
.content { white-space: normal; overflow-wrap: anywhere; }
.mention { background: rgba(88,101,242,.3); color: #c9cdfb; border-radius: 3px; padding: 0 2px; font-weight: 500;
  white-space: nowrap; }
.stamp { background: rgba(255,255,255,.06); border-radius: 3px; padding: 0 2px; }
code { font-family: "DejaVu Sans Mono", monospace; font-size: 85%; background: #2b2d31; border: 1px solid #1e1f22;
  border-radius: 4px; padding: 0 3px; }
pre.codeblock { font-family: "DejaVu Sans Mono", monospace; font-size: 13px; background: #2b2d31;
  border: 1px solid #1e1f22; border-radius: 4px; padding: 8px; margin: 4px 0; white-space: pre-wrap; }
a { color: #00a8fc; text-decoration: none; }
.li { padding-left: 20px; position: relative; }
.li::before { content: "•"; position: absolute; left: 6px; }
.h1 { font-size: 24px; font-weight: 700; color: #f2f3f5; margin: 8px 0 4px; }
.h2 { font-size: 20px; font-weight: 700; color: #f2f3f5; margin: 8px 0 4px; }
.h3 { font-size: 16px; font-weight: 700; color: #f2f3f5; margin: 8px 0 4px; }
.subtext { font-size: 12px; color: #949ba4; }
.quote { border-left: 4px solid #4e5058; padding: 0 8px 0 12px; margin: 2px 0; }
.embed { background: #2b2d31; border-left: 4px solid #1e1f22; border-radius: 4px; max-width: 520px;
  padding: 8px 16px 16px 12px; margin-top: 4px; }
.embed .title { color: #f2f3f5; font-weight: 600; margin-top: 8px; }
.embed .desc { font-size: 14px; margin-top: 8px; }
.fields { display: grid; grid-template-columns: repeat(3, 1fr); gap: 8px; margin-top: 8px; font-size: 14px; }
.field { grid-column: span 1; min-width: 0; }
.field.wide { grid-column: 1 / -1; }
.field .fname { color: #f2f3f5; font-weight: 600; margin-bottom: 2px; }
.embed .image img { max-width: 100%; max-height: 300px; border-radius: 4px; margin-top: 16px; display: block; }
.embed .thumb { float: right; max-width: 80px; max-height: 80px; border-radius: 4px; margin: 8px 0 0 16px; }
.embed .footer { color: #b5bac1; font-size: 12px; margin-top: 8px; }
.attachments { margin-top: 4px; }
.attachments img.picture { max-width: 400px; max-height: 300px; border-radius: 8px; display: block; margin-top: 4px; }
.video { position: relative; width: 400px; border-radius: 8px; overflow: hidden; margin-top: 4px; background: #000; }
.video img { width: 100%; display: block; }
.video .play { position: absolute; left: 50%; top: 50%; width: 48px; height: 48px; margin: -24px 0 0 -24px;
  border-radius: 50%; background: rgba(0,0,0,.6); color: #fff; font-size: 20px; display: flex; align-items: center;
  justify-content: center; }
.video .bar { position: absolute; left: 0; right: 0; bottom: 0; padding: 4px 8px; font-size: 12px; color: #fff;
  background: linear-gradient(transparent, rgba(0,0,0,.7)); }
.file { display: flex; align-items: center; gap: 10px; background: #2b2d31; border: 1px solid #1e1f22;
  border-radius: 8px; padding: 10px 12px; width: 400px; margin-top: 4px; }
.file .icon { font-size: 28px; }
.file .fname { color: #00a8fc; }
.file .size { color: #949ba4; font-size: 12px; }
.row { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 8px; }
.button { height: 32px; padding: 2px 16px; border-radius: 8px; font-size: 14px; font-weight: 500; color: #fff;
  display: flex; align-items: center; gap: 4px; background: #4e5058; }
.button.primary { background: #5865f2; } .button.success { background: #248046; }
.button.danger { background: #da373c; } .button.disabled { opacity: .5; }
.only-you { color: #949ba4; font-size: 12px; margin-top: 4px; }
.only-you a { color: #00a8fc; }
.note { color: #949ba4; font-style: italic; font-size: 13px; padding: 4px 16px 0 72px; }
.modal { background: #313338; border-radius: 8px; margin: 16px; width: 440px; box-shadow: 0 0 0 1px #1e1f22,
  0 8px 16px rgba(0,0,0,.24); padding: 16px; }
.modal .mtitle { font-size: 20px; font-weight: 700; color: #f2f3f5; margin-bottom: 16px; }
.modal label { display: block; color: #b5bac1; font-size: 12px; font-weight: 700; text-transform: uppercase;
  margin: 12px 0 8px; }
.modal .input { background: #1e1f22; border-radius: 4px; padding: 10px; color: #dbdee1; font-size: 15px;
  min-height: 40px; white-space: pre-wrap; overflow-wrap: anywhere; }
.modal .input.paragraph { min-height: 80px; }
.modal .actions { display: flex; justify-content: flex-end; gap: 8px; margin-top: 24px; }
.modal .actions .button { height: 38px; }
.backdrop { background: rgba(0,0,0,.55); padding: 8px 0; }
.terminal { background: #0c0c0c; color: #cccccc; font: 13px/1.45 "DejaVu Sans Mono", monospace; padding: 12px 16px;
  white-space: pre-wrap; overflow-wrap: anywhere; }
.terminal .prompt { color: #6ee36e; }
.terminal .warn { color: #f5c542; }
"""


def css(width: int) -> str:
    return CSS.replace("WIDTH", str(width))
