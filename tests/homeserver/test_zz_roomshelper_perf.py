import time
from synapse_modhost.testing import ModuleHostTestCase
from synapse_modhost.types import create_requester

class Perf(ModuleHostTestCase):
    modules = [{"module": "sample_modules.list_spam_checker.ListSpamChecker", "config": {"evil_users": ["@mallory:test.local"]}}]
    def test_perf(self):
        alice = self.register_user("alice")
        tok = self.login(alice)
        rid = self.create_room(tok)
        req = create_requester(alice, device_id="DEV")
        ev = self.host.hs.events
        n = 3000
        for i in range(200):
            self.get_success(ev.create_and_send_nonmember_event(req, {"type": "m.room.message", "room_id": rid, "sender": alice, "content": {"body": "hi %d" % i, "msgtype": "m.text"}}, txn_id="w%d" % i, suspended=False))
        t0 = time.process_time()
        for i in range(n):
            self.get_success(ev.create_and_send_nonmember_event(req, {"type": "m.room.message", "room_id": rid, "sender": alice, "content": {"body": "hi %d" % i, "msgtype": "m.text"}}, txn_id="t%d" % i, suspended=False))
        t1 = time.process_time()
        print("handler send us", (t1 - t0) / n * 1e6)
        import cProfile
        prof = cProfile.Profile(); prof.enable()
        for i in range(n):
            self.get_success(ev.create_and_send_nonmember_event(req, {"type": "m.room.message", "room_id": rid, "sender": alice, "content": {"body": "hi %d" % i, "msgtype": "m.text"}}, txn_id="u%d" % i, suspended=False))
        prof.disable(); prof.dump_stats("/tmp/roomshelper_prof.out")
