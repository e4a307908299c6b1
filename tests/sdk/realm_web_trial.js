// The new-user trial, the SDK side: the official Web SDK (realm-web, from npm) against
// `appkeys serve`. Driven by realm_web_trial_test.py, which starts and kills the server.
//
//   node realm_web_trial.js load BASE_URL APP_ID      (email and password on stdin)
//     registers the user, runs every API-key call once (create, fetchAll, fetch,
//     disable, enable, delete, log in with a key), then creates and deletes keys until
//     the server goes away. Prints one JSON line per event: {"ack": ...} once the server
//     acknowledged a write, {"begin": ...} before a write is sent, {"ready": true} once
//     the lifecycle has passed, {"gone": "..."} when a call fails after that.
//   node realm_web_trial.js verify BASE_URL APP_ID    (email, password, keys on stdin)
//     logs in with the password, prints the keys fetchAll lists, and tries each key
//     given with Realm.Credentials.apiKey, then refreshes the access token and logs out:
//     {"listed": [...], "logins": {id: user id or null}, "owner": user id}.
//
// Key values travel only over stdin/stdout between this script and its driver; nothing
// here prints one except the "ack" line of a create, which the driver never echoes.
"use strict";

const Realm = require("realm-web");

function emit(object) {
  process.stdout.write(JSON.stringify(object) + "\n");
}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

function check(condition, what) {
  if (!condition) throw new Error("realm-web trial: " + what);
}

/// A fresh App each time: realm-web keeps logged-in users per App instance.
function newApp(baseUrl, appId) {
  return new Realm.App({ id: appId, baseUrl });
}

/// The id as the server's 24 hex characters (realm-web hands back what the JSON holds).
function idOf(key) {
  return String(key._id);
}

async function createKey(keys, name) {
  emit({ begin: { op: "create", name } });
  const key = await keys.create(name);
  check(key && typeof key.key === "string" && key.key.length > 0, "create returned no key value");
  check(key.name === name && key.disabled === false, "create returned a different name or state");
  emit({ ack: { op: "create", id: idOf(key), name, key: key.key } });
  return key;
}

async function write(op, keys, id) {
  emit({ begin: { op, id } });
  await keys[op](id);
  emit({ ack: { op, id } });
}

async function load(baseUrl, appId, input) {
  const app = newApp(baseUrl, appId);
  await app.emailPasswordAuth.registerUser({ email: input.email, password: input.password });
  const user = await app.logIn(Realm.Credentials.emailPassword(input.email, input.password));
  const keys = user.apiKeys;

  // Every call once, checked as a new user would look at it.
  const first = await createKey(keys, "first");
  const second = await createKey(keys, "second");
  const doomed = await createKey(keys, "doomed");
  const listed = await keys.fetchAll();
  check(
    JSON.stringify(listed.map((k) => k.name)) === JSON.stringify(["first", "second", "doomed"]),
    "fetchAll did not list the three keys in creation order",
  );
  check(listed.every((k) => !("key" in k)), "fetchAll returned a key value");
  const fetched = await keys.fetch(idOf(first));
  check(fetched.name === "first" && !("key" in fetched), "fetch returned the wrong key");
  await write("disable", keys, idOf(second));
  check((await keys.fetch(idOf(second))).disabled === true, "disable did not disable");
  await write("enable", keys, idOf(second));
  await write("disable", keys, idOf(second));
  await write("delete", keys, idOf(doomed));
  let deletedFetch = null;
  try {
    await keys.fetch(idOf(doomed));
  } catch (error) {
    deletedFetch = error;
  }
  check(deletedFetch && deletedFetch.statusCode === 404, "a deleted key was still fetched");

  const keyApp = newApp(baseUrl, appId);
  const keyUser = await keyApp.logIn(Realm.Credentials.apiKey(first.key));
  check(keyUser.id === user.id, "an API-key login returned another user");
  let refused = null;
  try {
    await newApp(baseUrl, appId).logIn(Realm.Credentials.apiKey(second.key));
  } catch (error) {
    refused = error;
  }
  check(refused && refused.statusCode === 401, "a disabled key logged in");
  emit({ ready: true, owner: user.id });

  // Then writes until the server is killed: the driver kills it mid-stream.
  try {
    for (let i = 0; ; ++i) {
      const key = await createKey(keys, "load-" + i);
      if (i % 3 === 2) await write("delete", keys, idOf(key));
    }
  } catch (error) {
    emit({ gone: String(error && error.message ? error.message : error).slice(0, 200) });
  }
}

async function verify(baseUrl, appId, input) {
  const app = newApp(baseUrl, appId);
  const user = await app.logIn(Realm.Credentials.emailPassword(input.email, input.password));
  const listed = (await user.apiKeys.fetchAll()).map((k) => ({
    id: idOf(k),
    name: k.name,
    disabled: k.disabled,
    has_value: "key" in k,
  }));
  const logins = {};
  for (const { id, key } of input.keys) {
    try {
      const keyUser = await newApp(baseUrl, appId).logIn(Realm.Credentials.apiKey(key));
      logins[id] = keyUser.id;
    } catch (error) {
      logins[id] = null;
    }
  }
  // The session calls too: a new access token, then log out (the refresh token ends).
  await user.refreshAccessToken();
  check(typeof user.accessToken === "string" && user.accessToken.length > 0, "no new access token");
  await user.logOut();
  emit({ owner: user.id, listed, logins });
}

async function main() {
  const [mode, baseUrl, appId] = process.argv.slice(2);
  const input = await readStdin();
  if (mode === "load") return load(baseUrl, appId, input);
  if (mode === "verify") return verify(baseUrl, appId, input);
  throw new Error("usage: realm_web_trial.js load|verify BASE_URL APP_ID");
}

main().catch((error) => {
  // The message only: realm-web's errors name the URL and the server's message, no secret.
  process.stderr.write("realm-web trial failed: " + (error && error.message) + "\n");
  process.exit(1);
});
