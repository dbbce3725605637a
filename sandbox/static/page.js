// The sandbox page: a Discord-like channel fed live by the fake Discord's record (server-sent events). Everything
// the page sends goes through the same endpoints `make demo-smoke` and the tests use.
"use strict";

const TYPES = { STRING: 3, INTEGER: 4, BOOLEAN: 5, USER: 6, CHANNEL: 7, ROLE: 8, NUMBER: 10, ATTACHMENT: 11 };
const SAMPLE_PROMPT = "The city at night slowly wakes up into sunrise";
const state = { as: "member", channel: null, people: {}, channels: [], commands: [], messages: new Map() };
const $ = (id) => document.getElementById(id);

function el(tag, props = {}, children = []) {
  const node = Object.assign(document.createElement(tag), props);
  for (const child of children) node.append(child);
  return node;
}

// -- the commands the bot synced, as a form --------------------------------------------------------------------

function flatten(commands) {
  const found = [];
  const walk = (path, item) => {
    const subs = (item.options || []).filter((o) => o.type === 1 || o.type === 2);
    if (subs.length) subs.forEach((s) => walk(`${path} ${s.name}`, s));
    else found.push({ path, description: item.description, options: item.options || [] });
  };
  commands.forEach((c) => walk(c.name, c));
  return found;
}

function buildCommands() {
  const select = $("command");
  select.replaceChildren(...state.commands.map((c) => el("option", { value: c.path, textContent: `/${c.path} — ${c.description}` })));
  select.value = state.commands.some((c) => c.path === "tween") ? "tween" : select.value;
  select.onchange = buildOptions;
  buildOptions();
}

function field(option) {
  const name = `opt:${option.name}`;
  if (option.type === TYPES.ATTACHMENT) {
    return el("input", { type: "file", name: `file:${option.name}`, accept: "image/*" });
  }
  const choices = option.choices
    || (option.type === TYPES.BOOLEAN && [{ name: "true", value: "true" }, { name: "false", value: "false" }])
    || (option.type === TYPES.USER && Object.entries(state.people).map(([k, p]) => ({ name: p.name, value: k })))
    || (option.type === TYPES.CHANNEL && [{ name: "#general", value: "general" }, { name: "#mod-log", value: "mod-log" }])
    || (option.type === TYPES.ROLE && [{ name: "@Moderator", value: "Moderator" }, { name: "@everyone", value: "everyone" }]);
  if (choices) {
    const blank = option.required ? [] : [el("option", { value: "", textContent: "—" })];
    return el("select", { name }, [...blank, ...choices.map((c) => el("option", { value: c.value, textContent: c.name }))]);
  }
  if (option.name === "prompt") return el("textarea", { name, value: SAMPLE_PROMPT });
  const number = option.type === TYPES.INTEGER || option.type === TYPES.NUMBER;
  return el("input", { name, type: number ? "number" : "text", step: option.type === TYPES.NUMBER ? "any" : "1" });
}

function buildOptions() {
  const command = state.commands.find((c) => c.path === $("command").value);
  const rows = [];
  for (const option of command ? command.options : []) {
    const input = field(option);
    let note = option.description;
    if (option.type === TYPES.ATTACHMENT && (option.name === "start" || option.name === "end")) {
      note += ". Left empty: the sample picture (a skyline at " + (option.name === "start" ? "night)" : "sunrise)");
    }
    input.title = note;
    if ("placeholder" in input && !input.placeholder) input.placeholder = note;
    const label = el("label", { textContent: option.name + (option.required ? " *" : ""), title: note });
    rows.push(label, option.type === TYPES.ATTACHMENT ? el("div", { className: "file" }, [input, el("span", { className: "desc", textContent: note })]) : input);
  }
  $("options").replaceChildren(...rows);
  $("error").textContent = "";
}

async function send(event) {
  event.preventDefault();
  const form = new FormData($("composer"));
  form.set("as", state.as);
  if (state.channel) form.set("channel", state.channel);
  for (const which of ["start", "end"]) {
    const file = form.get(`file:${which}`);
    if (file instanceof File && file.size === 0) {
      const sample = await fetch(`/samples/${which}.png`).then((r) => r.blob());
      form.set(`file:${which}`, new File([sample], `${which}.png`, { type: "image/png" }));
    }
  }
  $("error").textContent = "";
  const answer = await fetch("/api/command", { method: "POST", body: form });
  if (!answer.ok) $("error").textContent = await answer.text();
}

// -- messages ------------------------------------------------------------------------------------------------------

function visible(message) {
  const me = state.people[state.as];
  return message.channel_id === state.channel && (!message.ephemeral || (me && message.to === me.name));
}

function render(message) {
  const node = el("div", { className: "item" });
  node.dataset.id = message.id;
  node.innerHTML = message.html;
  const spans = node.querySelectorAll(".row .button");
  message.buttons.forEach((button, i) => {
    const span = spans[i];
    if (!span || button.disabled) return;
    if (button.url) span.onclick = () => follow(button.url);
    else if (button.custom_id && button.type === 2) span.onclick = () => press(message, button);
  });
  const tiles = node.querySelectorAll(".video");
  message.videos.forEach((id, i) => {
    if (!tiles[i]) return;
    tiles[i].replaceWith(el("video", { className: "played", controls: true, src: `/files/${id}`, poster: `/files/${id}/poster` }));
  });
  const thread = state.channels.find((c) => c.thread && c.id === message.id);
  if (thread) node.append(el("div", { className: "open-thread", textContent: `🧵 ${thread.name} — open thread`, onclick: () => open(thread.id) }));
  return node;
}

// A link to a Discord message opens that channel here; anything else (the fake fal's video) in a new tab.
function follow(url) {
  const found = /discord\.com\/channels\/\d+\/(\d+)/.exec(url);
  if (found && state.channels.some((c) => c.id === found[1])) open(found[1]);
  else if (url.startsWith("http://127.0.0.1")) window.open(url, "_blank");
  else $("error").textContent = `${url} is outside the sandbox (the page stays offline).`;
}

function renderAll() {
  const list = [...state.messages.values()].filter(visible).map(render);
  $("messages").replaceChildren(...(list.length ? list : [el("div", { className: "empty", textContent: "Nothing here yet." })]));
  scrollDown();
}

function update(message) {
  const known = state.messages.has(message.id);
  state.messages.set(message.id, message);
  if (!visible(message)) return;
  const old = $("messages").querySelector(`.item[data-id="${message.id}"]`);
  if (old) old.replaceWith(render(message));
  else if (!known) {
    $("messages").querySelector(".empty")?.remove();
    $("messages").append(render(message));
    scrollDown();
  } else renderAll();
}

function scrollDown() {
  const box = $("messages");
  box.scrollTop = box.scrollHeight;
}

// -- channels and people ------------------------------------------------------------------------------------------

function open(channelId) {
  state.channel = channelId;
  const channel = state.channels.find((c) => c.id === channelId);
  $("title").textContent = channel ? (channel.thread ? `🧵 ${channel.name}` : channel.name) : "?";
  $("topic").textContent = channel && channel.thread ? "a thread: buttons and /history work here" : "";
  buildChannels();
  renderAll();
}

function buildChannels() {
  const items = [];
  for (const c of state.channels.filter((c) => !c.thread)) {
    items.push(channelItem(c, `# ${c.name}`));
    for (const t of state.channels.filter((t) => t.thread && t.parent_id === c.id)) items.push(channelItem(t, `🧵 ${t.name}`));
  }
  $("channels").replaceChildren(...items);
}

function channelItem(channel, text) {
  const on = channel.id === state.channel ? " on" : "";
  return el("div", { className: `chan${channel.thread ? " thread" : ""}${on}`, textContent: text, title: text, onclick: () => open(channel.id) });
}

function buildPeople() {
  const roles = { member: "member", moderator: "moderator (Manage Server)" };
  $("people").replaceChildren(...Object.entries(state.people).map(([key, person]) => el("button", {
    type: "button", className: key === state.as ? "on" : "", textContent: `${person.name} — ${roles[key] || key}`,
    onclick: () => { state.as = key; buildPeople(); renderAll(); },
  })));
}

// -- buttons and forms -------------------------------------------------------------------------------------------

async function press(message, button) {
  const answer = await post("/api/click", { as: state.as, message_id: message.id, custom_id: button.custom_id });
  if (answer && answer.modal) showModal(answer.interaction, answer.modal);
}

async function post(url, body) {
  const answer = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  if (!answer.ok) { $("error").textContent = await answer.text(); return null; }
  const json = await answer.json();
  if (json.error) $("error").textContent = json.error;
  return json;
}

function showModal(interactionId, modal) {
  const inputs = [];
  for (const row of modal.components || []) {
    for (const c of row.component ? [row.component] : row.components || []) {
      if (c.type !== 4) continue;
      const label = c.label || row.label || c.custom_id;
      const input = el(c.style === 2 ? "textarea" : "input", { value: c.value || "", placeholder: c.placeholder || "" });
      input.dataset.customId = c.custom_id;
      inputs.push(el("label", { textContent: label }), input);
    }
  }
  const box = $("modal");
  const close = () => { box.hidden = true; box.replaceChildren(); };
  const submit = el("button", { className: "button primary", type: "button", textContent: "Submit", onclick: async () => {
    const values = Object.fromEntries([...box.querySelectorAll("[data-custom-id]")].map((i) => [i.dataset.customId, i.value]));
    close();
    await post("/api/modal", { as: state.as, interaction: interactionId, values });
  } });
  const cancel = el("button", { className: "button", type: "button", textContent: "Cancel", onclick: close });
  box.replaceChildren(el("div", { className: "modal" }, [
    el("div", { className: "mtitle", textContent: modal.title || "" }), ...inputs,
    el("div", { className: "actions" }, [cancel, submit]),
  ]));
  box.hidden = false;
}

// -- start ---------------------------------------------------------------------------------------------------------

async function start() {
  const initial = await fetch("/api/state").then((r) => r.json());
  state.people = initial.people;
  state.commands = flatten(initial.commands).sort((a, b) => a.path.localeCompare(b.path));
  state.channels = initial.channels;
  initial.messages.forEach((m) => state.messages.set(m.id, m));
  const wanted = new URLSearchParams(location.search);
  if (wanted.get("as") in state.people) state.as = wanted.get("as");
  buildPeople();
  buildCommands();
  if (state.commands.some((c) => c.path === wanted.get("command"))) { $("command").value = wanted.get("command"); buildOptions(); }
  $("composer").onsubmit = send;
  $("messages").addEventListener("load", scrollDown, true); // pictures arriving make the list taller
  const channel = state.channels.find((c) => c.name === wanted.get("channel") || c.id === wanted.get("channel"));
  open((channel || state.channels[0] || {}).id || null);
  // ?still: the page as it is now, without the live feed (for screenshots: a browser then knows it has loaded).
  if (wanted.has("still")) { document.body.dataset.still = "yes"; return; }
  const events = new EventSource("/events");
  events.onopen = () => { document.body.dataset.live = "yes"; };
  events.onmessage = (event) => {
    const item = JSON.parse(event.data);
    if (item.type === "channels") { state.channels = item.channels; buildChannels(); }
    else if (item.type === "message") update(item);
  };
}

window.addEventListener("error", (event) => { $("error").textContent = `The page failed: ${event.message}`; });
window.addEventListener("unhandledrejection", (event) => { $("error").textContent = `The page failed: ${event.reason}`; });
start();
