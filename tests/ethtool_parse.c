// SPDX-License-Identifier: MIT
/* tier A: ethtool netlink request encoding and rings/channels reply parsing
 * against canned messages. */
#include "ethtool.h"
#include "helpers.h"
#include "nl.h"
#include "uapi.h"

static char buf[DMT_NL_BUFSZ] __attribute__((aligned(8)));

/* A reply as the kernel builds it: genl header, the header nest with
 * ifindex and name, then the payload attributes. */
static struct nlmsghdr *reply(uint8_t cmd, uint16_t hdr)
{
	struct nlmsghdr *nlh = dmt_genl_req(buf, 21, cmd, 1, 0);
	struct nlattr *nest = mnl_attr_nest_start(nlh, hdr);

	mnl_attr_put_u32(nlh, DMT_ETHTOOL_A_HEADER_DEV_INDEX, 2);
	mnl_attr_put_strz(nlh, DMT_ETHTOOL_A_HEADER_DEV_NAME, "eth0");
	mnl_attr_nest_end(nlh, nest);
	return nlh;
}

int main(void)
{
	struct dmt_rings r;
	struct dmt_channels c;
	struct nlmsghdr *nlh;
	const struct nlattr *a, *in;
	const struct genlmsghdr *g;
	int n;

	/* request: cmd, version, one header nest holding DEV_INDEX */
	nlh = dmt_ethtool_build_get(buf, 21, DMT_ETHTOOL_MSG_RINGS_GET,
				    DMT_ETHTOOL_A_RINGS_HEADER, 7);
	g = mnl_nlmsg_get_payload(nlh);
	T_CHECK(nlh->nlmsg_type == 21 && g->cmd == DMT_ETHTOOL_MSG_RINGS_GET &&
		g->version == DMT_ETHTOOL_GENL_VERSION, "genl header");
	n = 0;
	mnl_attr_for_each(a, nlh, sizeof(*g)) {
		n++;
		T_CHECK(mnl_attr_get_type(a) == DMT_ETHTOOL_A_RINGS_HEADER,
			"type %u", mnl_attr_get_type(a));
		T_CHECK(a->nla_type & NLA_F_NESTED, "header must be a nest");
		mnl_attr_for_each_nested(in, a) {
			T_CHECK(mnl_attr_get_type(in) ==
					DMT_ETHTOOL_A_HEADER_DEV_INDEX &&
				mnl_attr_get_u32(in) == 7, "dev index");
		}
	}
	T_CHECK(n == 1, "%d top-level attrs", n);
	T_CHECK(nlh->nlmsg_len == 16 + 4 + 4 + 8, "len %u", nlh->nlmsg_len);

	/* virtio_net on 6.18 (host-facts §5): no tcp-data-split, no hds */
	nlh = reply(DMT_ETHTOOL_MSG_RINGS_GET + 1, DMT_ETHTOOL_A_RINGS_HEADER);
	mnl_attr_put_u32(nlh, DMT_ETHTOOL_A_RINGS_RX_MAX, 256);
	mnl_attr_put_u32(nlh, DMT_ETHTOOL_A_RINGS_TX_MAX, 256);
	mnl_attr_put_u32(nlh, DMT_ETHTOOL_A_RINGS_RX, 256);
	mnl_attr_put_u32(nlh, DMT_ETHTOOL_A_RINGS_TX, 256);
	mnl_attr_put_u8(nlh, DMT_ETHTOOL_A_RINGS_TX_PUSH, 0);
	mnl_attr_put_u8(nlh, DMT_ETHTOOL_A_RINGS_RX_PUSH, 0);
	T_CHECK(dmt_ethtool_parse_rings(nlh, &r) == 0, "virtio rings");
	T_CHECK(r.rx == 256 && r.rx_max == 256 && r.tx == 256 && r.tx_max == 256,
		"rings %u/%u %u/%u", r.rx, r.rx_max, r.tx, r.tx_max);
	T_CHECK(!r.has_tcp_data_split && !r.has_hds_thresh, "no hds attrs");

	/* a devmem NIC: header split enabled, hds-thresh 0 of 1024 */
	nlh = reply(DMT_ETHTOOL_MSG_RINGS_GET + 1, DMT_ETHTOOL_A_RINGS_HEADER);
	mnl_attr_put_u32(nlh, DMT_ETHTOOL_A_RINGS_RX_MAX, 8192);
	mnl_attr_put_u32(nlh, DMT_ETHTOOL_A_RINGS_RX, 1024);
	mnl_attr_put_u8(nlh, DMT_ETHTOOL_A_RINGS_TCP_DATA_SPLIT,
			DMT_ETHTOOL_TCP_DATA_SPLIT_ENABLED);
	mnl_attr_put_u32(nlh, DMT_ETHTOOL_A_RINGS_HDS_THRESH, 0);
	mnl_attr_put_u32(nlh, DMT_ETHTOOL_A_RINGS_HDS_THRESH_MAX, 1024);
	T_CHECK(dmt_ethtool_parse_rings(nlh, &r) == 0, "hds rings");
	T_CHECK(r.has_tcp_data_split &&
		r.tcp_data_split == DMT_ETHTOOL_TCP_DATA_SPLIT_ENABLED,
		"tds %d/%u", r.has_tcp_data_split, r.tcp_data_split);
	T_CHECK(r.has_hds_thresh && r.hds_thresh == 0 && r.hds_thresh_max == 1024,
		"hds %u max %u", r.hds_thresh, r.hds_thresh_max);
	T_CHECK(r.rx == 1024 && r.rx_max == 8192 && r.tx == 0, "rx");

	/* tcp-data-split "unknown" (driver reports it, state not known) */
	nlh = reply(DMT_ETHTOOL_MSG_RINGS_GET + 1, DMT_ETHTOOL_A_RINGS_HEADER);
	mnl_attr_put_u8(nlh, DMT_ETHTOOL_A_RINGS_TCP_DATA_SPLIT,
			DMT_ETHTOOL_TCP_DATA_SPLIT_UNKNOWN);
	T_CHECK(dmt_ethtool_parse_rings(nlh, &r) == 0 && r.has_tcp_data_split &&
		r.tcp_data_split == 0, "tds unknown");

	/* malformed: tcp-data-split as u32, hds-thresh as u8 */
	nlh = reply(DMT_ETHTOOL_MSG_RINGS_GET + 1, DMT_ETHTOOL_A_RINGS_HEADER);
	mnl_attr_put_u32(nlh, DMT_ETHTOOL_A_RINGS_TCP_DATA_SPLIT, 2);
	T_CHECK(dmt_ethtool_parse_rings(nlh, &r) == -DMT_ERR_NETLINK,
		"bad tds length");
	nlh = reply(DMT_ETHTOOL_MSG_RINGS_GET + 1, DMT_ETHTOOL_A_RINGS_HEADER);
	mnl_attr_put_u8(nlh, DMT_ETHTOOL_A_RINGS_HDS_THRESH, 2);
	T_CHECK(dmt_ethtool_parse_rings(nlh, &r) == -DMT_ERR_NETLINK,
		"bad hds length");
	/* empty payload (not even a header) */
	nlh = dmt_genl_req(buf, 21, DMT_ETHTOOL_MSG_RINGS_GET + 1, 1, 0);
	T_CHECK(dmt_ethtool_parse_rings(nlh, &r) == -DMT_ERR_NETLINK, "empty");

	/* channels: virtio_net (combined 1/1) */
	nlh = reply(DMT_ETHTOOL_MSG_CHANNELS_GET + 1,
		    DMT_ETHTOOL_A_CHANNELS_HEADER);
	mnl_attr_put_u32(nlh, DMT_ETHTOOL_A_CHANNELS_COMBINED_MAX, 1);
	mnl_attr_put_u32(nlh, DMT_ETHTOOL_A_CHANNELS_COMBINED_COUNT, 1);
	T_CHECK(dmt_ethtool_parse_channels(nlh, &c) == 0, "virtio channels");
	T_CHECK(c.combined == 1 && c.combined_max == 1 && c.rx == 0 &&
		c.rx_max == 0 && c.tx == 0, "combined %u/%u", c.combined,
		c.combined_max);
	/* channels: veth (rx/tx 1 of 2) */
	nlh = reply(DMT_ETHTOOL_MSG_CHANNELS_GET + 1,
		    DMT_ETHTOOL_A_CHANNELS_HEADER);
	mnl_attr_put_u32(nlh, DMT_ETHTOOL_A_CHANNELS_RX_MAX, 2);
	mnl_attr_put_u32(nlh, DMT_ETHTOOL_A_CHANNELS_TX_MAX, 2);
	mnl_attr_put_u32(nlh, DMT_ETHTOOL_A_CHANNELS_RX_COUNT, 1);
	mnl_attr_put_u32(nlh, DMT_ETHTOOL_A_CHANNELS_TX_COUNT, 1);
	mnl_attr_put_u32(nlh, DMT_ETHTOOL_A_CHANNELS_OTHER_MAX, 3);
	mnl_attr_put_u32(nlh, DMT_ETHTOOL_A_CHANNELS_OTHER_COUNT, 1);
	T_CHECK(dmt_ethtool_parse_channels(nlh, &c) == 0, "veth channels");
	T_CHECK(c.rx_max == 2 && c.tx_max == 2 && c.rx == 1 && c.tx == 1 &&
		c.other_max == 3 && c.other == 1 && c.combined == 0,
		"rx %u/%u tx %u/%u", c.rx, c.rx_max, c.tx, c.tx_max);
	/* malformed counts */
	nlh = reply(DMT_ETHTOOL_MSG_CHANNELS_GET + 1,
		    DMT_ETHTOOL_A_CHANNELS_HEADER);
	mnl_attr_put_u16(nlh, DMT_ETHTOOL_A_CHANNELS_RX_COUNT, 1);
	T_CHECK(dmt_ethtool_parse_channels(nlh, &c) == -DMT_ERR_NETLINK,
		"u16 count");
	/* header only: no channel data at all */
	nlh = reply(DMT_ETHTOOL_MSG_CHANNELS_GET + 1,
		    DMT_ETHTOOL_A_CHANNELS_HEADER);
	T_CHECK(dmt_ethtool_parse_channels(nlh, &c) == -DMT_ERR_NETLINK,
		"no counts");

	printf("ethtool_parse: ok\n");
	return T_PASS;
}
