"""Drives a QMP server with python qemu.qmp (QEMU's own client library).

Usage: qemu_qmp_session.py SOCKET
Exits 0 when every check holds; prints each step as it passes.
"""

import asyncio
import sys

from qemu.qmp import ExecuteError, QMPClient


def step(name, ok=True):
    if not ok:
        raise AssertionError(name)
    print("ok:", name, flush=True)


async def expect_error(qmp, cmd, args, error_class, desc):
    try:
        await qmp.execute(cmd, args)
    except ExecuteError as err:
        step(f"{cmd} fails with {error_class}",
             err.error_class == error_class and err.error.error.desc == desc)
        return
    raise AssertionError(f"{cmd} succeeded")


async def main(path):
    qmp = QMPClient("qapi-rs")
    await qmp.connect(path)
    greeting = qmp.greeting
    step("greeting offers oob", list(greeting.QMP.capabilities) == ["oob"])
    step("greeting names the package",
         greeting.QMP.version["package"] == "qmp-server")

    version = await qmp.execute("query-version")
    step("query-version", version["package"] == "qmp-server")
    status = await qmp.execute("query-status")
    step("query-status before start",
         status == {"running": False, "status": "prelaunch"})

    with qmp.listener(("RESUME", "STOP")) as listener:
        await qmp.execute("cont")
        event = await asyncio.wait_for(listener.get(), 5)
        step("RESUME through an EventListener", event["event"] == "RESUME"
             and "seconds" in event["timestamp"])
        await qmp.execute("stop")
        event = await asyncio.wait_for(listener.get(), 5)
        step("STOP through an EventListener", event["event"] == "STOP")
    status = await qmp.execute("query-status")
    step("query-status after stop",
         status == {"running": False, "status": "paused"})

    await expect_error(qmp, "no-such-command", None, "CommandNotFound",
                       "The command no-such-command has not been found")
    await expect_error(qmp, "query-status", {"bogus": 1}, "GenericError",
                       "Parameter 'bogus' is unexpected")
    # Paused, the server runs only read-only and run-state commands.
    await expect_error(qmp, "x-debug-sleep", {"seconds": 0}, "CommandNotFound",
                       "Command x-debug-sleep has been disabled: "
                       "not while the machine is paused")
    await qmp.execute("cont")
    await expect_error(qmp, "x-debug-sleep", {"seconds": "x"}, "GenericError",
                       "Invalid parameter type for 'seconds', expected: number")
    await expect_error(qmp, "qmp_capabilities", None, "CommandNotFound",
                       "Capabilities negotiation is already complete, "
                       "command ignored")

    # An out-of-band command overtakes a slow in-band one.
    order = []

    async def run(name, cmd, args=None, oob=False):
        reply = await qmp.execute(cmd, args, oob=oob)
        order.append(name)
        return reply

    slow = asyncio.create_task(run("slow", "x-debug-sleep", {"seconds": 1.0}))
    await asyncio.sleep(0.2)
    busy = await run("oob", "x-query-busy", oob=True)
    step("exec-oob runs while the in-band command does", busy == {"busy": True})
    await slow
    step("the out-of-band reply came first", order == ["oob", "slow"])
    try:
        await qmp.execute("query-status", oob=True)
        raise AssertionError("query-status ran out of band")
    except ExecuteError as err:
        step("exec-oob of an in-band command is refused",
             err.error.error.desc == "The command query-status does not support OOB")

    commands = {c["name"] for c in await qmp.execute("query-commands")}
    step("query-commands lists every command",
         {"qmp_capabilities", "query-commands", "query-qmp-schema",
          "query-status", "stop", "cont", "x-query-busy"} <= commands)
    schema = await qmp.execute("query-qmp-schema")
    metas = {entry["meta-type"] for entry in schema}
    names = {entry["name"] for entry in schema if entry["meta-type"] == "command"}
    step("query-qmp-schema describes the interface",
         {"command", "event", "object", "enum", "builtin"} <= metas
         and "query-status" in names and "stop" in names)

    await qmp.execute("system_powerdown")
    await qmp.disconnect()
    step("disconnected")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
