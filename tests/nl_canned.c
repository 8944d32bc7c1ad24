// SPDX-License-Identifier: MIT
/* tier A: netlink encoding and decoding against canned messages. */
#include "helpers.h"
#include "netdev.h"
#include "uapi.h"

static char buf[DMT_NL_BUFSZ] __attribute__((aligned(8)));

static struct nlmsghdr *err_msg(int error, bool capped, const char *text,
				uint32_t offs, uint32_t miss)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nlmsgerr *e;

	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_flags = NLM_F_ACK_TLVS | (capped ? NLM_F_CAPPED : 0);
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->error = error;
	e->msg.nlmsg_len = capped ? sizeof(e->msg) : sizeof(e->msg) + 12;
	if (!capped) /* the echoed request payload: genl header + one u32 attr */
		mnl_nlmsg_put_extra_header(nlh, 12);
	if (text)
		mnl_attr_put_strz(nlh, DMT_NLMSGERR_ATTR_MSG, text);
	if (offs)
		mnl_attr_put_u32(nlh, DMT_NLMSGERR_ATTR_OFFS, offs);
	if (miss)
		mnl_attr_put_u32(nlh, DMT_NLMSGERR_ATTR_MISS_TYPE, miss);
	return nlh;
}

static const struct nlattr *attr_at(const struct nlmsghdr *nlh, size_t off)
{
	return (const struct nlattr *)((const char *)nlh + off);
}

int main(void)
{
	struct dmt_error e;
	struct nlmsghdr *nlh;
	const struct nlattr *a, *in;
	uint32_t id = 0, queues[2] = { 0, 2 };
	int n;

	/* capped ack with extack text and offending attribute */
	nlh = err_msg(-EOPNOTSUPP, true, "Driver does not support netmem TX", 20, 0);
	T_CHECK(dmt_nl_parse_err(nlh, &e) == -EOPNOTSUPP, "errno");
	T_CHECK(!strcmp(e.extack, "Driver does not support netmem TX"),
		"extack '%s'", e.extack);
	T_CHECK(e.bad_attr == 20 && e.miss_type == 0, "offs %u", e.bad_attr);
	/* uncapped: TLVs follow the echoed request */
	nlh = err_msg(-EINVAL, false, NULL, 0, 3);
	T_CHECK(dmt_nl_parse_err(nlh, &e) == -EINVAL, "einval");
	T_CHECK(e.miss_type == 3 && !e.extack[0], "missing attr %u", e.miss_type);
	/* plain ACK */
	nlh = err_msg(0, true, NULL, 0, 0);
	T_CHECK(dmt_nl_parse_err(nlh, &e) == 0 && e.err == 0, "ack");
	/* error delivered in NLMSG_DONE of a dump, with TLVs */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = NLMSG_DONE;
	nlh->nlmsg_flags = NLM_F_MULTI | NLM_F_ACK_TLVS;
	*(int *)mnl_nlmsg_put_extra_header(nlh, sizeof(int)) = -EOPNOTSUPP;
	mnl_attr_put_u32(nlh, DMT_NLMSGERR_ATTR_OFFS, 20);
	T_CHECK(dmt_nl_parse_err(nlh, &e) == -EOPNOTSUPP && e.bad_attr == 20,
		"done error");

	/* bind-rx encoding: ifindex, fd, one nested queue-id per queue */
	nlh = dmt_netdev_build_bind(buf, 20, true, 3, 7, queues, 2);
	T_CHECK(nlh->nlmsg_type == 20, "family id");
	T_CHECK(((struct genlmsghdr *)mnl_nlmsg_get_payload(nlh))->cmd == 13 &&
		((struct genlmsghdr *)mnl_nlmsg_get_payload(nlh))->version == 1,
		"cmd 13 v1");
	a = attr_at(nlh, 20); /* first attribute: offset 20, as extack counts */
	T_CHECK(mnl_attr_get_type(a) == 1 && mnl_attr_get_u32(a) == 3, "ifindex");
	n = 0;
	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		switch (n++) {
		case 0:
			break;
		case 1:
			T_CHECK(mnl_attr_get_type(a) == 3 && mnl_attr_get_u32(a) == 7,
				"fd attr");
			break;
		case 2:
		case 3:
			T_CHECK(a->nla_type == (NLA_F_NESTED | 2),
				"queues nest type 0x%x", a->nla_type);
			int k = 0;
			mnl_attr_for_each_nested(in, a) {
				if (k == 0)
					T_CHECK(mnl_attr_get_type(in) == 1 &&
						mnl_attr_get_u32(in) == queues[n - 3],
						"queue id");
				else
					T_CHECK(mnl_attr_get_type(in) == 3 &&
						mnl_attr_get_u32(in) == 0,
						"queue type attr is 3, RX is 0");
				k++;
			}
			T_CHECK(k == 2, "two attrs in queue nest");
			break;
		default:
			T_CHECK(0, "unexpected attribute %d", mnl_attr_get_type(a));
		}
	}
	T_CHECK(n == 4, "attribute count %d", n);
	/* bind-tx: ifindex and fd only; never the reply-only id (4) */
	nlh = dmt_netdev_build_bind(buf, 20, false, 3, 7, queues, 2);
	T_CHECK(((struct genlmsghdr *)mnl_nlmsg_get_payload(nlh))->cmd == 15,
		"cmd 15");
	n = 0;
	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		T_CHECK(mnl_attr_get_type(a) == 1 || mnl_attr_get_type(a) == 3,
			"bind-tx sends attr %d", mnl_attr_get_type(a));
		n++;
	}
	T_CHECK(n == 2, "bind-tx attrs %d", n);

	/* bind reply */
	nlh = dmt_genl_req(buf, 20, 15, 1, 0);
	T_CHECK(dmt_netdev_parse_bind(nlh, &id) == -DMT_ERR_NETLINK, "no id");
	mnl_attr_put_u32(nlh, DMT_NETDEV_A_DMABUF_ID, 42);
	T_CHECK(dmt_netdev_parse_bind(nlh, &id) == 0 && id == 42, "id %u", id);

	/* queue-get reply: rx queue 3 bound to binding 9 with a napi */
	{
		struct dmt_queue_info q;
		nlh = dmt_genl_req(buf, 20, 10, 1, 0);
		mnl_attr_put_u32(nlh, DMT_NETDEV_A_QUEUE_ID, 3);
		mnl_attr_put_u32(nlh, DMT_NETDEV_A_QUEUE_IFINDEX, 2);
		mnl_attr_put_u32(nlh, DMT_NETDEV_A_QUEUE_TYPE, 0);
		mnl_attr_put_u32(nlh, DMT_NETDEV_A_QUEUE_NAPI_ID, 257);
		mnl_attr_put_u32(nlh, DMT_NETDEV_A_QUEUE_DMABUF, 9);
		T_CHECK(dmt_netdev_parse_queue(nlh, &q) == 0, "queue parse");
		T_CHECK(q.id == 3 && q.ifindex == 2 && q.type == 0 &&
			q.has_napi_id && q.napi_id == 257 && q.has_dmabuf &&
			q.dmabuf == 9 && !q.has_xsk && !q.has_io_uring, "queue fields");
	}
	/* page-pool-get reply: id as a 64-bit "uint", devmem binding 9 */
	{
		struct dmt_page_pool_info pp;
		nlh = dmt_genl_req(buf, 20, 5, 1, 0);
		mnl_attr_put_u64(nlh, DMT_NETDEV_A_PAGE_POOL_ID, 77);
		mnl_attr_put_u32(nlh, DMT_NETDEV_A_PAGE_POOL_IFINDEX, 2);
		mnl_attr_put_u64(nlh, DMT_NETDEV_A_PAGE_POOL_INFLIGHT, 5);
		mnl_attr_put_u32(nlh, DMT_NETDEV_A_PAGE_POOL_DMABUF, 9);
		T_CHECK(dmt_netdev_parse_page_pool(nlh, &pp) == 0 && pp.id == 77 &&
			pp.ifindex == 2 && pp.inflight == 5 && pp.has_dmabuf &&
			pp.dmabuf == 9 && !pp.has_io_uring, "page pool fields");
		nlh = dmt_genl_req(buf, 20, 5, 1, 0);
		mnl_attr_put_u32(nlh, DMT_NETDEV_A_PAGE_POOL_ID, 3); /* 4-byte uint */
		T_CHECK(dmt_netdev_parse_page_pool(nlh, &pp) == 0 && pp.id == 3 &&
			!pp.has_dmabuf, "short uint id");
	}
	/* dev-get reply */
	{
		struct dmt_dev_info d;
		nlh = dmt_genl_req(buf, 20, 1, 1, 0);
		mnl_attr_put_u32(nlh, DMT_NETDEV_A_DEV_IFINDEX, 2);
		mnl_attr_put_u64(nlh, DMT_NETDEV_A_DEV_XDP_FEATURES, 43);
		mnl_attr_put_u32(nlh, DMT_NETDEV_A_DEV_XDP_ZC_MAX_SEGS, 1);
		T_CHECK(dmt_netdev_parse_dev(nlh, &d) == 0 && d.ifindex == 2 &&
			d.xdp_features == 43 && d.xdp_zc_max_segs == 1, "dev");
	}
	/* generic netlink controller reply with an op list */
	{
		struct dmt_genl_family f;
		struct nlattr *ops, *op;
		nlh = dmt_genl_req(buf, GENL_ID_CTRL, CTRL_CMD_NEWFAMILY, 2, 0);
		mnl_attr_put_u16(nlh, CTRL_ATTR_FAMILY_ID, 20);
		mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, "netdev");
		mnl_attr_put_u32(nlh, CTRL_ATTR_VERSION, 1);
		ops = mnl_attr_nest_start(nlh, CTRL_ATTR_OPS);
		for (uint32_t i = 1; i <= 3; i++) {
			static const uint32_t cmd[] = { 0, 1, 13, 15 };
			op = mnl_attr_nest_start(nlh, (uint16_t)i);
			mnl_attr_put_u32(nlh, CTRL_ATTR_OP_ID, cmd[i]);
			mnl_attr_put_u32(nlh, CTRL_ATTR_OP_FLAGS,
					 cmd[i] == 13 ? GENL_ADMIN_PERM : 0);
			mnl_attr_nest_end(nlh, op);
		}
		mnl_attr_nest_end(nlh, ops);
		T_CHECK(dmt_genl_parse_family(nlh, &f) == 0 && f.id == 20 &&
			f.version == 1, "family");
		T_CHECK(f.ops == ((1ull << 1) | (1ull << 13) | (1ull << 15)),
			"ops %llx", (unsigned long long)f.ops);
		T_CHECK(f.ops_admin == 1ull << 13, "admin ops");
	}
	printf("nl_canned: ok\n");
	return T_PASS;
}
