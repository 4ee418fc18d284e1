"""ZeroMQ sockets read by the event loop's reader callback (no Ray)."""

import asyncio

import zmq
from foureyes.messaging.loop_socket import LoopSocket


def pair():
    ctx = zmq.Context.instance()
    pull = ctx.socket(zmq.PULL)
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    push = ctx.socket(zmq.PUSH)
    push.connect(f"tcp://127.0.0.1:{port}")
    return push, pull


async def test_a_burst_longer_than_one_turn_is_read_whole_in_order_past_a_bad_message(caplog):
    push, pull = pair()
    seen = []
    everything = asyncio.get_running_loop().create_future()

    def on_message(frames):
        n = int(frames[0])
        if n == 7:
            raise ValueError("a message nobody can read")
        seen.append(n)
        if n == 999:
            everything.set_result(None)

    for i in range(1000):  # sent before the reader exists: no edge will announce them
        push.send(str(i).encode())
    await asyncio.sleep(0.05)
    assert pull.getsockopt(zmq.EVENTS) & zmq.POLLIN  # this takes the edge that announced them
    sock = LoopSocket(pull, on_message)
    await asyncio.wait_for(everything, 5)
    assert seen == [i for i in range(1000) if i != 7]
    assert "could not be handled" in caplog.text
    sock.close()
    push.close()


async def test_an_answer_whose_signal_a_send_took_is_still_read():
    """Any operation on a ZeroMQ socket, a send too, may take the descriptor's edge that
    announced an answer: without a look after each send, the answer would wait for the next
    message."""
    ctx = zmq.Context.instance()
    router = ctx.socket(zmq.ROUTER)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    dealer = ctx.socket(zmq.DEALER)
    dealer.connect(f"tcp://127.0.0.1:{port}")
    answers = []
    client = LoopSocket(dealer, lambda frames: answers.append(frames[0]))
    await asyncio.sleep(0.01)  # its first look at the socket is over
    client.send([b"first"])
    assert router.poll(2000)
    caller, body = router.recv_multipart()
    router.send_multipart([caller, b"answer to " + body])
    # the answer arrives while the loop is held here, and an operation on the socket takes
    # its edge (as a send may: ZeroMQ handles its pending commands then)
    assert dealer.poll(2000)
    client.send([b"second"])  # nobody answers this one
    await asyncio.sleep(0.2)
    assert answers == [b"answer to first"]
    client.close()
    router.close()
