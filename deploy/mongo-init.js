// Initiates the replica set rs0 of compose.yaml once, then waits until it
// has a primary. Run by the mongo-init service with mongosh against
// mongo1; running it again on an initiated set only waits for a primary.
const config = {
  _id: "rs0",
  members: [
    { _id: 0, host: "mongo1:27017" },
    { _id: 1, host: "mongo2:27017" },
    { _id: 2, host: "mongo3:27017" },
  ],
};

try {
  rs.status();
  print("rs0: already initiated");
} catch (e) {
  if (e.codeName !== "NotYetInitialized") {
    throw e;
  }
  rs.initiate(config);
  print("rs0: initiated");
}

const deadline = Date.now() + 120 * 1000;
for (;;) {
  let primary;
  try {
    primary = rs.status().members.find((m) => m.stateStr === "PRIMARY");
  } catch (e) {
    // Elections in progress answer errors for a moment.
  }
  if (primary) {
    print(`rs0: primary is ${primary.name}`);
    break;
  }
  if (Date.now() > deadline) {
    print("rs0: no primary after 120 s");
    quit(1);
  }
  sleep(1000);
}
