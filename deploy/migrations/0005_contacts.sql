-- A person's contacts in one column, by kind: mobile, email, a WeCom, DingTalk or Feishu id,
-- or whatever id a later channel reaches people by (its ChannelSpec.contact). The columns
-- no longer list them, so a new channel needs no migration (issue 11).
ALTER TABLE people ADD COLUMN contacts jsonb NOT NULL DEFAULT '{}'
    CHECK (jsonb_typeof(contacts) = 'object');

UPDATE people SET contacts = jsonb_strip_nulls(jsonb_build_object(
    'mobile', mobile, 'email', email, 'wecom', wecom, 'dingtalk', dingtalk, 'feishu', feishu
));

ALTER TABLE people
    DROP COLUMN mobile,
    DROP COLUMN email,
    DROP COLUMN wecom,
    DROP COLUMN dingtalk,
    DROP COLUMN feishu;
